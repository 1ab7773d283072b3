"""A worker killed right after a checkpoint, then resumed: no holes in the curves, one row per step,
and a worker log that says once what the resume restored (the test-only fault in core/faults.py)."""
from __future__ import annotations

import pytest

from studio.core import faults
from studio.store import metrics, open_db, runs
from tests.conftest import studio, write_config, write_jsonl


@pytest.mark.slow
def test_a_kill_after_a_checkpoint_loses_no_metrics_and_the_resume_says_what_it_restored(
        tmp_path, home, tiny_models, monkeypatch):
    # Three labels: the tiny bert's two-label head is re-initialized, which transformers reports.
    rows = [{"text": f"{w} item {i}", "label": lab} for i in range(30)
            for w, lab in (("good", "pos"), ("bad", "neg"), ("so-so", "neutral"))]
    data = write_jsonl(tmp_path / "cls.jsonl", rows)
    cfg = write_config(tmp_path, task="classification", model=str(tiny_models["bert"]), data={"train": str(data)},
                       training={"max_steps": 15, "save_steps": 5, "eval_steps": 5, "logging_steps": 1,
                                 "keep_checkpoints": 3})
    monkeypatch.setenv(faults.KILL_AFTER_CHECKPOINT, "10")
    studio(home, "train", str(cfg))  # follows the worker until it is found dead
    db = open_db(home.db_path)
    (run,) = runs.list_runs(db)
    assert run["status"] == "crashed", run
    # Everything up to the published checkpoint was in the store before the kill.
    assert [m["step"] for m in metrics.get_metrics(db, run["id"], name="train_loss")][:10] == list(range(1, 11))

    monkeypatch.delenv(faults.KILL_AFTER_CHECKPOINT)
    studio(home, "resume", str(run["id"]), check=True)
    run = runs.get_run(db, run["id"])
    assert run["status"] == "completed" and run["step"] == 15
    assert [m["step"] for m in metrics.get_metrics(db, run["id"], name="train_loss")] == list(range(1, 16))
    assert [m["step"] for m in metrics.get_metrics(db, run["id"], name="epoch")] == list(range(0, 16))
    log = (home.run_dir(run["id"]) / "worker.log").read_text()
    resumed = "resumed at step 10 from checkpoints/checkpoint-10: adapter + head weights, optimizer, scheduler, RNG"
    assert log.count(resumed) == 1
    # transformers' report of a newly initialized head: said at the first start, not after the resume.
    assert log.count("LOAD REPORT") == 1 and log.index("LOAD REPORT") < log.index(resumed)
