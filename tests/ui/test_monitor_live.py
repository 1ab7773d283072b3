"""The monitor follows a live run: rows written by another process, per-group LR, memory, ETA, big runs."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from studio.store import metrics
from studio.ui.pages.runs import RunsPage
from tests.ui.conftest import add_losses, make_run

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("embeddings", "layers.0-1", "layers.2-3")

# What a ULMFiT run on a GPU logs, written batch by batch like the worker's recorder does.
WRITER = """
import sys, time
from studio.store import metrics, open_db
db = open_db(sys.argv[1])
run_id = int(sys.argv[2])
groups = sys.argv[3].split(",")
for batch in range(4):
    rows, now = [], time.time()
    for s in range(1 + 5 * batch, 6 + 5 * batch):
        rows += [(s, "train_loss", 2.0 / s, now), (s, "lr", 1e-3, now), (s, "epoch", s / 20, now),
                 (s, "tokens_per_s", 1000.0 + s, now), (s, "rss_bytes", 3e9, now),
                 (s, "cuda_allocated_bytes", 1e9, now), (s, "cuda_reserved_bytes", 2e9, now),
                 (s, "cuda_peak_bytes", 1.5e9, now)]
        rows += [(s, "lr/" + g, 1e-3 / 2.6 ** (len(groups) - 1 - i), now) for i, g in enumerate(groups)]
    metrics.add_metrics(db, run_id, rows)
    time.sleep(0.2)
"""


def build(qtbot, db, home) -> RunsPage:
    page = RunsPage(db, home)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    return page


def test_ulmfit_gpu_run_written_by_another_process(qtbot, store, home, tmp_path):
    run_id = make_run(store, name="ulmfit", status="running", step=0, max_steps=20)
    page = build(qtbot, store, home)
    detail = page.detail
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "studio.db"), str(run_id),
                               ",".join(GROUPS)], cwd=ROOT, env=env)
    try:
        qtbot.waitUntil(lambda: detail.loss_plot.point_count("train_loss") == 20, timeout=15_000)
    finally:
        assert writer.wait(timeout=15) == 0
    qtbot.waitUntil(lambda: detail.speed_plot.point_count("tokens_per_s") == 20, timeout=2000)
    # One learning-rate curve per layer group, labelled by group; the plain 'lr' (top group) is not drawn.
    assert detail.run_plots.lr_groups == list(GROUPS)
    for i, group in enumerate(GROUPS):
        _, y = detail.lr_plot.buffer("lr/" + group).view()
        assert len(y) == 20 and np.allclose(y, 1e-3 / 2.6 ** (len(GROUPS) - 1 - i))
    assert detail.lr_plot.point_count("lr") == 0
    # On a GPU the allocator's figures are plotted, not the worker's RSS.
    for name in ("cuda_allocated_bytes", "cuda_reserved_bytes", "cuda_peak_bytes"):
        assert detail.memory_plot.point_count(name) == 20
    assert detail.memory_plot.point_count("rss_bytes") == 0
    # Tokens/s: the median of the last ten logged values (1011..1020), not the last one alone.
    assert detail.epoch_label.text() == "1.00" and detail.speed_label.text() == "1,016"


def test_cpu_run_plots_rss_and_a_single_lr(qtbot, store, home):
    run_id = make_run(store, name="cpu", status="running", step=10)
    now = time.time()
    metrics.add_metrics(store, run_id, [(s, n, 1.0, now) for s in range(1, 11) for n in ("lr", "rss_bytes")])
    page = build(qtbot, store, home)
    qtbot.waitUntil(lambda: page.detail.memory_plot.point_count("rss_bytes") == 10, timeout=5000)
    assert page.detail.lr_plot.point_count("lr") == 10 and page.detail.run_plots.lr_groups == []


def test_eta_from_the_recent_step_rate(qtbot, store, home):
    run_id = make_run(store, name="eta", status="running", step=50, max_steps=100)
    add_losses(store, run_id, range(0, 51))  # one step per second of wall time
    page = build(qtbot, store, home)
    detail = page.detail
    qtbot.waitUntil(lambda: detail.eta_label.text() == "50 s", timeout=5000)
    assert detail.step_label.text() == "50 / 100"
    assert "running" in detail.title.text()


def test_no_eta_once_the_run_has_ended(qtbot, store, home):
    run_id = make_run(store, name="done", status="completed", step=100, max_steps=100)
    add_losses(store, run_id, range(0, 101))
    page = build(qtbot, store, home)
    qtbot.waitUntil(lambda: page.detail.loss_plot.point_count("train_loss") == 101, timeout=5000)
    assert page.detail.eta_label.text() == "—"


def test_reopening_the_page_reattaches_to_the_run_in_progress(qtbot, store, home):
    run_id = make_run(store, name="long", status="running", step=30)
    add_losses(store, run_id, range(0, 30))
    first = build(qtbot, store, home)
    qtbot.waitUntil(lambda: first.detail.loss_plot.point_count("train_loss") == 30, timeout=5000)
    first.close()
    add_losses(store, run_id, range(30, 40))  # training went on while the window was closed
    second = build(qtbot, store, home)
    assert second.selected_run_id() == run_id
    qtbot.waitUntil(lambda: second.detail.loss_plot.point_count("train_loss") == 40, timeout=5000)
    add_losses(store, run_id, range(40, 45))
    qtbot.waitUntil(lambda: second.detail.loss_plot.point_count("train_loss") == 45, timeout=5000)


def test_a_long_run_loads_without_blocking_the_gui_thread(qtbot, store, home):
    big = make_run(store, name="big", status="completed", step=100_000, max_steps=100_000)
    small = make_run(store, name="small", status="completed", step=10, max_steps=10)
    add_losses(store, small, range(10))
    now = time.time()
    metrics.add_metrics(store, big, [(s, n, 1.0 / (s + 1), now + s * 0.01)
                                     for s in range(100_000) for n in ("train_loss", "lr")])
    page = build(qtbot, store, home)
    assert page.selected_run_id() == small
    page._plot_timer.stop()  # poll by hand, timing each call on the GUI thread
    page.select_run(big)
    slowest, start = 0.0, time.time()
    while page.detail.loss_plot.point_count("train_loss") < 100_000 and time.time() - start < 30:
        t = time.perf_counter()
        page.poll_metrics()
        slowest = max(slowest, time.perf_counter() - t)
        qtbot.wait(20)
    assert page.detail.loss_plot.point_count("train_loss") == 100_000
    # A big backlog redraws one plot per event-loop turn: the LR plot follows a moment later.
    qtbot.waitUntil(lambda: page.detail.lr_plot.point_count("lr") == 100_000, timeout=2000)
    assert slowest < 0.3, f"a poll held the GUI thread for {slowest:.2f} s"
    x, _ = page.detail.loss_plot.buffer("train_loss").view()
    assert x.dtype == np.float64 and x[-1] == 99_999
