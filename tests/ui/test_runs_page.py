"""The Runs page: table, live curves fed by another process, and stop/pause/resume off the GUI thread."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import Qt

from studio import jobs
from studio.store import runs
from studio.ui.pages.runs import NO_RUNS, RunsPage
from studio.ui.widgets.runs_table import COLUMNS, FRACTION_ROLE
from tests.ui.conftest import add_losses, make_run

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from studio.store import metrics, open_db
db = open_db(sys.argv[1])
run_id = int(sys.argv[2])
for batch in range(5):
    steps = range(10 + 10 * batch, 20 + 10 * batch)
    metrics.add_metrics(db, run_id, [(s, name, 1.0 / s, time.time()) for s in steps
                                     for name in ("train_loss", "lr", "rss_bytes")])
    time.sleep(0.15)
"""


def build(qtbot, db, home) -> RunsPage:
    page = RunsPage(db, home)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def cell(page: RunsPage, row: int, column: str, role=Qt.ItemDataRole.DisplayRole):
    return page.model.data(page.model.index(row, COLUMNS.index(column)), role)


def test_empty_page_explains_how_to_start(qtbot, store, home):
    page = build(qtbot, store, home)
    assert page.model.rowCount() == 0
    assert page.detail.empty_label.text() == NO_RUNS


def test_table_lists_runs_newest_first_with_progress_and_losses(qtbot, store, home):
    first = make_run(store, name="first", status="completed", step=100)
    add_losses(store, first, range(1, 101))
    second = make_run(store, name="second", status="paused", step=25, max_steps=50)
    page = build(qtbot, store, home)
    assert page.model.rowCount() == 2
    assert cell(page, 0, "ID") == str(second) and cell(page, 0, "Status") == "paused"
    assert cell(page, 0, "Progress") == "25/50" and cell(page, 0, "Progress", FRACTION_ROLE) == 0.5
    assert cell(page, 1, "Train loss") == f"{1 / 101:.4g}"
    assert page.selected_run_id() == second  # opens on the newest run
    page.select_run(first)
    assert page.detail.run_id == first
    # The backlog is read on a pool thread; the plot timer hands it to the curves.
    qtbot.waitUntil(lambda: page.detail.loss_plot.point_count("train_loss") == 100, timeout=5000)


def test_curves_grow_with_rows_written_by_another_process(qtbot, store, home, tmp_path):
    run_id = make_run(store, name="live", status="running", step=3)
    add_losses(store, run_id, range(0, 3))
    page = build(qtbot, store, home)  # opening the page re-attaches to the run in progress
    plot = page.detail.loss_plot
    qtbot.waitUntil(lambda: plot.point_count("train_loss") == 3, timeout=5000)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "studio.db"), str(run_id)],
                              cwd=ROOT, env=env)
    try:
        seen = set()

        def grown() -> bool:
            seen.add(plot.point_count("train_loss"))
            return plot.point_count("train_loss") == 53
        qtbot.waitUntil(grown, timeout=10_000)
    finally:
        assert writer.wait(timeout=10) == 0
    assert len(seen) > 2  # picked up batch by batch, not in one go at the end
    qtbot.waitUntil(lambda: page.detail.lr_plot.point_count("lr") == 50, timeout=2000)
    assert page.detail.memory_plot.point_count("rss_bytes") == 50
    x, _ = page.detail.loss_plot.buffer("train_loss").view()
    assert list(x) == sorted(x) and x[-1] == 59


def test_stop_and_pause_issue_requests(qtbot, store, home, monkeypatch):
    run_id = make_run(store, name="busy", status="running", step=5)
    calls = []

    def fake_request(db, rid, kind, **kw):
        calls.append((rid, kind, threading.current_thread() is threading.main_thread()))
        return runs.get_run(db, rid)
    monkeypatch.setattr(jobs, "request", fake_request)
    page = build(qtbot, store, home)
    detail = page.detail
    assert detail.stop_button.isEnabled() and detail.pause_button.isEnabled()
    assert not detail.resume_button.isEnabled()
    qtbot.mouseClick(detail.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(calls) and not page.busy, timeout=5000)
    qtbot.mouseClick(detail.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(calls) == 2 and not page.busy, timeout=5000)
    assert calls == [(run_id, "stop", False), (run_id, "pause", False)]  # never on the GUI thread


def test_buttons_wait_while_a_request_blocks(qtbot, store, home, monkeypatch):
    run_id = make_run(store, name="slow", status="running", step=5)
    release = threading.Event()

    def slow_request(db, rid, kind, **kw):
        release.wait(10)
        return runs.get_run(db, rid)
    monkeypatch.setattr(jobs, "request", slow_request)
    page = build(qtbot, store, home)
    qtbot.mouseClick(page.detail.stop_button, Qt.MouseButton.LeftButton)
    try:
        assert page.busy == {run_id: "stop"}
        qtbot.wait(300)  # the event loop keeps running meanwhile
        assert "stopping" in page.detail.title.text()
        assert not any(b.isEnabled() for b in (page.detail.stop_button, page.detail.pause_button,
                                                page.detail.resume_button))
    finally:
        release.set()
    qtbot.waitUntil(lambda: not page.busy and page.detail.stop_button.isEnabled(), timeout=5000)


def test_resume_a_paused_run(qtbot, store, home, monkeypatch):
    run_id = make_run(store, name="held", status="paused", step=40)
    calls = []
    monkeypatch.setattr(jobs, "resume", lambda db, h, rid: calls.append((h, rid)) or 4242)
    page = build(qtbot, store, home)
    assert page.detail.resume_button.isEnabled() and page.detail.stop_button.isEnabled()  # stop: cancelled
    messages = []
    page.message.connect(messages.append)
    qtbot.mouseClick(page.detail.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(calls) and not page.busy, timeout=5000)
    assert calls == [(home, run_id)]
    assert messages[-1] == f"Run {run_id} resumed."


def test_failed_command_is_reported(qtbot, store, home, monkeypatch):
    make_run(store, name="gone", status="running", step=5)

    def refuse(db, rid, kind, **kw):
        raise ValueError(f"run {rid} is completed; only queued or running runs can {kind}")
    monkeypatch.setattr(jobs, "request", refuse)
    page = build(qtbot, store, home)
    messages = []
    page.message.connect(messages.append)
    qtbot.mouseClick(page.detail.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=5000)
    assert messages[-1].startswith("Could not pause run") and "completed" in messages[-1]


def test_crashed_run_shows_error_and_resume(qtbot, store, home):
    make_run(store, name="boom", status="crashed", step=30,
             error="worker process is gone; resume continues from the last complete checkpoint")
    page = build(qtbot, store, home)
    detail = page.detail
    assert detail.resume_button.isEnabled()
    assert not detail.stop_button.isEnabled() and not detail.pause_button.isEnabled()
    assert "worker process is gone" in detail.error_label.text() and detail.error_label.isVisibleTo(page)


def test_dead_worker_is_shown_as_crashed(qtbot, store, home):
    run_id = make_run(store, name="ghost")
    runs.update_run(store, run_id, status="running", pid=None)  # no live process behind it
    page = build(qtbot, store, home)
    assert cell(page, 0, "Status") == "crashed"
    assert page.detail.resume_button.isEnabled()


def test_log_tail_is_shown(qtbot, store, home):
    run_id = make_run(store, name="logged", status="completed", step=100)
    home.run_dir(run_id).mkdir(parents=True)
    (home.run_dir(run_id) / "worker.log").write_text("loading model\nstep 100 loss 0.1\n")
    page = build(qtbot, store, home)
    assert page.detail.log_box.toPlainText().endswith("step 100 loss 0.1")


def no_launch(monkeypatch):
    """Queue tests drive the real jobs layer; a worker must never actually start from them."""
    launched = []
    monkeypatch.setattr(jobs, "launch", lambda db, home, rid: launched.append(rid) or 0)
    return launched


def test_queued_runs_show_their_place_and_can_be_cancelled(qtbot, store, home, monkeypatch):
    launched = no_launch(monkeypatch)
    busy = make_run(store, name="busy", status="running", step=5)
    first, second = make_run(store, name="next"), make_run(store, name="later")
    page = build(qtbot, store, home)
    assert [cell(page, page.model.row_of(i), "Status") for i in (busy, first, second)] == \
        ["running", "queued #1", "queued #2"]
    assert "in the queue" in cell(page, page.model.row_of(second), "Status", Qt.ItemDataRole.ToolTipRole)
    page.select_run(second)
    detail = page.detail
    assert "#2 in the queue" in detail.title.text()
    assert detail.stop_button.text() == "Cancel" and detail.stop_button.isEnabled()
    assert not detail.pause_button.isEnabled() and not detail.resume_button.isEnabled()
    qtbot.mouseClick(detail.stop_button, Qt.MouseButton.LeftButton)  # the real jobs.request
    qtbot.waitUntil(lambda: not page.busy, timeout=5000)
    assert runs.get_run(store, second)["status"] == "cancelled"
    assert cell(page, page.model.row_of(first), "Status") == "queued #1"
    assert detail.stop_button.text() == "Stop" and detail.resume_button.isEnabled()
    assert launched == []  # 'busy' still holds the machine


def test_cancel_button_sends_stop_for_a_queued_run(qtbot, store, home, monkeypatch):
    no_launch(monkeypatch)
    make_run(store, name="busy", status="running", step=5)
    waiting = make_run(store, name="waiting")
    calls = []
    monkeypatch.setattr(jobs, "request", lambda db, rid, kind, **kw: calls.append((rid, kind)) or runs.get_run(db, rid))
    page = build(qtbot, store, home)
    messages = []
    page.message.connect(messages.append)
    page.select_run(waiting)
    qtbot.mouseClick(page.detail.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(calls) and not page.busy, timeout=5000)
    assert calls == [(waiting, "stop")] and f"Asking run {waiting} to cancel…" in messages


def test_resume_while_another_runs_joins_the_queue(qtbot, store, home, monkeypatch):
    launched = no_launch(monkeypatch)
    make_run(store, name="busy", status="running", step=5)
    held = make_run(store, name="held", status="paused", step=40)
    page = build(qtbot, store, home)
    page.select_run(held)
    qtbot.mouseClick(page.detail.resume_button, Qt.MouseButton.LeftButton)  # the real jobs.resume
    qtbot.waitUntil(lambda: not page.busy, timeout=5000)
    assert cell(page, page.model.row_of(held), "Status") == "queued #1" and launched == []


def test_the_next_queued_run_starts_when_the_running_one_ends(qtbot, store, home, monkeypatch):
    launched = no_launch(monkeypatch)
    busy = make_run(store, name="busy", status="running", step=5)
    waiting = make_run(store, name="waiting")
    page = build(qtbot, store, home)
    runs.update_run(store, busy, pid=None)  # its worker died without a word
    page.refresh()
    assert cell(page, page.model.row_of(busy), "Status") == "crashed"
    assert launched == [waiting] and cell(page, page.model.row_of(waiting), "Status") == "starting"
