"""The Runs header's ETA and tokens/s agree with the plots: the current worker's recent pace only."""
from __future__ import annotations

import os

from studio.store import metrics, open_db, runs
from studio.ui.progress import format_duration
from studio.ui.widgets.run_detail import RunDetail

T0 = 1_700_000_000.0


def _resumed_run(db) -> int:
    run_id = runs.create_run(db, name="r", config={}, model="m", method="lora", task="causal-lm", max_steps=240)
    # Before the pause: 40 steps at one per 10 s, 23 tokens/s (what the header showed after Resume).
    rows = [(s, "tokens_per_s", 23.0, T0 + 10 * s) for s in range(1, 41)]
    rows += [(s, "train_loss", 1.0, T0 + 10 * s) for s in range(1, 41)]
    # After the resume (this worker started at T0 + 1000): 26 steps in 15 s at 600..860 tokens/s.
    rows += [(s, "tokens_per_s", 600.0 + 10 * (s - 41), T0 + 1005 + (s - 41) * 15 / 26) for s in range(41, 68)]
    rows += [(s, "train_loss", 0.5, T0 + 1005 + (s - 41) * 15 / 26) for s in range(41, 68)]
    metrics.add_metrics(db, run_id, rows)
    runs.update_run(db, run_id, status="running", pid=os.getpid(), pid_started_at=T0 + 1000, step=67,
                    heartbeat_at=T0 + 1020)
    return run_id


def test_eta_and_tokens_per_s_follow_the_pace_since_the_resume(qtbot, home):
    db = open_db(None)
    run_id = _resumed_run(db)
    detail = RunDetail(db, home)
    qtbot.addWidget(detail)
    detail.show_run(runs.get_run(db, run_id))
    assert detail.step_label.text() == "67 / 240"
    assert detail.eta_label.text() == format_duration((240 - 67) * 15 / 26)  # 1 min 40 s, not 66 min
    assert detail.speed_label.text() == "815"  # the median of the last ten: 770..860

    # Resumed again (a new worker): the old worker's speeds are forgotten until this one logs.
    runs.update_run(db, run_id, pid_started_at=T0 + 2000)
    detail.show_run(runs.get_run(db, run_id))
    assert detail.speed_label.text() == "—" and detail.eta_label.text() == "—"
    metrics.add_metrics(db, run_id, [(68, "tokens_per_s", 1000.0, T0 + 2010), (68, "train_loss", 0.4, T0 + 2010),
                                     (69, "train_loss", 0.4, T0 + 2011)])
    detail.poll_metrics()
    assert detail.speed_label.text() == "1,000" and detail.eta_label.text() == format_duration(240 - 67)  # one step a second


def test_one_slow_step_after_an_evaluation_does_not_become_the_header(qtbot, home):
    db = open_db(None)
    run_id = runs.create_run(db, name="r", config={}, model="m", method="lora", task="causal-lm", max_steps=100)
    speeds = [500.0, 520.0, 480.0, 510.0, 94.0]  # the last interval held an evaluation and a checkpoint
    metrics.add_metrics(db, run_id, [(s + 1, "tokens_per_s", v, T0 + s) for s, v in enumerate(speeds)])
    runs.update_run(db, run_id, status="running", pid=os.getpid(), pid_started_at=T0 - 5, step=5)
    detail = RunDetail(db, home)
    qtbot.addWidget(detail)
    detail.show_run(runs.get_run(db, run_id))
    assert detail.speed_label.text() == "500"
