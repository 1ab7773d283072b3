"""A run trained by several processes on the Runs page: one memory curve per rank ('rank 0', 'rank 1'),
and the header's processes and effective batch (what rank 0 recorded, else what the config asks)."""
from __future__ import annotations

import time

from studio.store import metrics, open_db, runs
from studio.ui.widgets.run_detail import RunDetail, processes_text

MIB = 2**20


def distributed_run(db, name: str, ranks: int, *, cuda: bool, processes=2) -> int:
    """A finished run as rank 0 records it: its own memory figures plus rank<R>_* for every rank."""
    config = {"training": {"batch_size": 8, "gradient_accumulation": 1,
                           "distributed": {"processes": processes, "strategy": "ddp"}}}
    run_id = runs.create_run(db, name=name, config=config, model="tiny", method="lora", task="causal-lm",
                             max_steps=10)
    now, rows = time.time(), []
    for step in range(1, 11):
        rows += [(step, "train_loss", 1.0 / step, now + step), (step, "rss_bytes", 900.0 * MIB, now + step)]
        for r in range(ranks if ranks > 1 else 0):  # a 1-process run records no rank figures
            rows.append((step, f"rank{r}_rss_bytes", (500 + 100 * r) * MIB, now + step))
            if cuda:
                rows.append((step, f"rank{r}_cuda_peak_bytes", (2000 + 10 * r) * MIB, now + step))
    if ranks > 1:
        rows += [(1, "world_size", float(ranks), now + 1), (1, "effective_batch", 8.0 * ranks, now + 1)]
    metrics.add_metrics(db, run_id, rows)
    runs.set_status(db, run_id, "completed")
    return run_id


def legend(plot) -> list[str]:
    return [label.text for _, label in plot.getPlotItem().legend.items]


def test_memory_plot_has_one_curve_per_rank_and_the_header_says_processes(qtbot, home, tmp_path):
    db = open_db(tmp_path / "studio.db")
    cpu = distributed_run(db, "cpu-2", 2, cuda=False)
    gpu = distributed_run(db, "gpu-4", 4, cuda=True, processes="auto")
    single = distributed_run(db, "one", 1, cuda=False, processes=1)
    detail = RunDetail(db, home)
    qtbot.addWidget(detail)
    plot = detail.memory_plot

    detail.show_run(runs.get_run(db, cpu))
    qtbot.waitUntil(lambda: plot.point_count("rank1_rss_bytes") == 10, timeout=5000)
    assert legend(plot) == ["rank 0", "rank 1"]  # rank 0's own RSS curve would repeat 'rank 0'
    assert plot.point_count("rss_bytes") == 0 and plot.getPlotItem().titleLabel.text == "Memory per rank"
    assert plot.buffer("rank1_rss_bytes").last() == (10.0, 600.0 * MIB)
    assert (detail.processes_label.text(), detail.batch_label.text()) == ("2 (DDP)", "8 × 1 × 2 = 16")

    # GPUs: each rank's CUDA peak; auto became 4 processes, as rank 0 recorded.
    detail.show_run(runs.get_run(db, gpu))
    qtbot.waitUntil(lambda: plot.point_count("rank3_cuda_peak_bytes") == 10, timeout=5000)
    assert legend(plot) == ["rank 0", "rank 1", "rank 2", "rank 3"]
    assert detail.run_plots.memory_ranks == ["rank 0", "rank 1", "rank 2", "rank 3"]
    assert all(plot.point_count(f"rank{r}_rss_bytes") == 0 for r in range(4))
    assert (detail.processes_label.text(), detail.batch_label.text()) == ("4 (DDP)", "8 × 1 × 4 = 32")

    # One process: the usual curves and title, no rank curves.
    detail.show_run(runs.get_run(db, single))
    qtbot.waitUntil(lambda: plot.point_count("rss_bytes") == 10, timeout=5000)
    assert legend(plot) == ["process RSS"] and plot.getPlotItem().titleLabel.text == "Memory"
    assert (detail.processes_label.text(), detail.batch_label.text()) == ("1", "8 × 1 × 1 = 8")
    db.conn.close()


def test_processes_text_from_the_config_alone():
    """Before rank 0 has recorded anything, and for runs from before training.distributed existed."""
    assert processes_text({}, {}) == ("1", "—")
    training = {"batch_size": 4, "gradient_accumulation": 2}
    assert processes_text({"training": training}, {}) == ("1", "4 × 2 × 1 = 8")
    auto = {"training": {**training, "distributed": {"processes": "auto", "strategy": "fsdp"}}}
    assert processes_text(auto, {}) == ("auto (every GPU)", "4 × 2 × processes")
    assert processes_text(auto, {"world_size": 8, "effective_batch": 64}) == ("8 (FSDP)", "4 × 2 × 8 = 64")
