"""Stop, pause and resume: commands the worker honours between steps, backed up by signals."""
from __future__ import annotations

import signal
import time
from typing import Any

from studio.jobs import process, queue
from studio.jobs.liveness import check_liveness
from studio.paths import Home
from studio.store import commands, runs


def request(db: Any, run_id: int, kind: str, timeout: float = 60.0, kill_after: float = 15.0) -> dict:
    """Ask a run to stop or pause between steps and wait until its worker has exited.

    A run still waiting in the queue leaves it at once (stop: cancelled, pause: paused, so resume
    queues it again). Otherwise the command is honoured at the next step boundary; SIGTERM, then
    SIGKILL back it up when the worker does not answer in time (stuck in a long step or load)."""
    run = check_liveness(db, runs.get_run(db, run_id), advance=False)
    if run["status"] not in runs.ACTIVE_STATUSES:
        raise ValueError(f"run {run_id} is {run['status']}; only queued or running runs can {kind}")
    if runs.is_waiting(run) and runs.cancel_waiting(db, run_id, "cancelled" if kind == "stop" else "paused"):
        return runs.get_run(db, run_id)
    commands.send_command(db, run_id, kind)
    run = _wait_spawned(db, run_id)
    if not process.wait_exit(run, timeout):
        process.signal_worker(run, signal.SIGTERM)
        if not process.wait_exit(run, kill_after):
            process.signal_worker(run, signal.SIGKILL)
            process.wait_exit(run, 5.0)
            runs.set_status(db, run_id, "cancelled", error="killed after not answering a stop request")
            queue.advance_quietly(db)  # a killed worker cannot start the next run itself
    return check_liveness(db, runs.get_run(db, run_id))


def _wait_spawned(db: Any, run_id: int, timeout: float = 10.0) -> dict:
    """A run claimed from the queue gets its pid a moment later; wait for it (briefly)."""
    end = time.time() + timeout
    run = runs.get_run(db, run_id)
    while run["status"] == "queued" and not run.get("pid") and time.time() < end:
        time.sleep(0.05)
        run = runs.get_run(db, run_id)
    return run


def resumable(run: dict) -> bool:
    """Paused, crashed, cancelled and failed runs can continue from their last checkpoint."""
    return run["status"] in ("paused", "crashed", "cancelled", "failed")


def resume(db: Any, home: Home, run_id: int) -> int | None:
    """Queue a stopped run again, at the back; it starts now when nothing else is running.

    Returns its worker's pid when it started at once, None while it waits for its turn. The
    worker continues from the run's last complete checkpoint."""
    run = check_liveness(db, runs.get_run(db, run_id), advance=False)
    if not resumable(run):
        raise ValueError(f"run {run_id} is {run['status']}; only paused, crashed, cancelled or failed runs resume")
    commands.clear_commands(db, run_id)
    runs.update_run(db, run_id, pid=None, pid_started_at=None)
    runs.set_status(db, run_id, "queued")  # waiting again: queued_at now, launched_at cleared
    queue.advance(db, home)
    run = runs.get_run(db, run_id)
    return None if runs.is_waiting(run) else run.get("pid")
