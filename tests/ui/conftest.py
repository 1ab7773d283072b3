"""Qt tests run offscreen; a file store (WAL, like the app) and helpers to fill it."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import time  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402

from studio.store import metrics, open_db, runs  # noqa: E402


@pytest.fixture
def store(tmp_path):
    """A fresh studio database file."""
    db = open_db(tmp_path / "studio.db")
    yield db
    db.conn.close()


def make_run(db, name: str = "r", status: str = "queued", step: int = 0, max_steps: int = 100,
             error: str | None = None) -> int:
    """A run in the given status; 'running' ones point at this (live) process with a fresh heartbeat."""
    run_id = runs.create_run(db, name=name, config={}, model="tiny-gpt2", method="lora",
                             task="causal-lm", max_steps=max_steps)
    runs.update_run(db, run_id, step=step)
    if status == "running":
        runs.update_run(db, run_id, status="running", pid=os.getpid(),
                        pid_started_at=psutil.Process().create_time(), heartbeat_at=time.time())
    elif status != "queued":
        runs.set_status(db, run_id, status, error=error)
    return run_id


def add_losses(db, run_id: int, steps: range, name: str = "train_loss") -> None:
    """One metric row per step."""
    now = time.time()
    metrics.add_metrics(db, run_id, [(s, name, 1.0 / (s + 1), now + s) for s in steps])
