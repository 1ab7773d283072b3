"""A DPO run killed with SIGKILL right after a checkpoint resumes through the real worker: the same
step count, every metric row once, the reward curves recorded under TRL's names, an adapter in the
library that chat and compare take as a causal-LM adapter."""
from __future__ import annotations

import json

import pytest
import yaml

from studio.core import faults
from studio.store import metrics, runs
from studio.store.db import open_db
from tests.conftest import studio, wait_for, write_jsonl
from tests.core.test_preference_train import pairs

REWARDS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


@pytest.mark.slow
def test_kill_minus_9_mid_dpo_then_resume_completes_with_every_row_once(tmp_path, home, tiny_models,
                                                                        monkeypatch):
    data = write_jsonl(tmp_path / "pairs.jsonl", pairs(24))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "dpo", "task": "preference", "model": str(tiny_models["gpt2"]),
        "data": {"train": str(data), "max_length": 48, "val_fraction": 0.25},
        "method": {"name": "houlsby"}, "preference": {"loss": "dpo", "beta": 0.2},
        "training": {"max_steps": 8, "batch_size": 4, "learning_rate": 5e-3, "save_steps": 4,
                     "eval_steps": 4, "seed": 0}}))
    monkeypatch.setenv(faults.KILL_AFTER_CHECKPOINT, "4")
    run_id = int(studio(home, "train", str(cfg), "--detach", check=True).stdout.strip())
    db = open_db(home.db_path)
    wait_for(lambda: _dead(runs.get_run(db, run_id)), timeout=240, interval=0.5,
             what="the worker killed after checkpoint 4")
    monkeypatch.delenv(faults.KILL_AFTER_CHECKPOINT)

    proc = studio(home, "resume", str(run_id))  # it finds the dead worker (crashed) and resumes
    assert proc.returncode == 0, proc.stderr
    run = runs.get_run(db, run_id)
    assert run["status"] == "completed" and run["step"] == 8 and run["max_steps"] == 8
    names = set(metrics.metric_names(db, run_id))
    assert {"train_loss", *REWARDS, *(f"eval_{n}" for n in REWARDS), "eval_loss"} <= names
    for name in ("train_loss", "rewards/margins"):
        steps = [m["step"] for m in metrics.get_metrics(db, run_id, name=name)]
        assert steps == list(range(1, 9)), name  # logged every step, once each, none missing
    assert [m["step"] for m in metrics.get_metrics(db, run_id, name="eval_rewards/margins")] == [0, 4, 8]

    (adapter,) = json.loads(studio(home, "adapters", "--json", check=True).stdout)
    assert adapter["method"] == "houlsby" and adapter["task"] == "causal-lm"
    meta = json.loads((tmp_path.joinpath(adapter["path"]) / "studio.json").read_text())
    assert meta["objective"] == "preference" and meta["steps"] == 8


def _dead(run: dict) -> bool:
    import psutil

    if run["status"] != "running" or not run.get("pid"):
        return False
    try:
        return psutil.Process(run["pid"]).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
