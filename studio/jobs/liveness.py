"""Liveness is observed, not assumed: a run is running only while its pid lives and its heartbeat is fresh."""
from __future__ import annotations

import time
from typing import Any

from studio.jobs import process
from studio.jobs import queue as run_queue  # a crash found here frees the machine for the next run
from studio.store import runs

# A worker writes a heartbeat every second; this much silence means it is gone or hung.
STALE_AFTER_S = 30.0
TERMINAL = ("completed", "failed", "cancelled", "crashed", "paused")


def check_liveness(db: Any, run: dict, now: float | None = None, advance: bool = True) -> dict:
    """Mark a running (or starting) run 'crashed' when its process is gone or its heartbeat is stale.

    With advance, a crash found here, or a run still waiting, moves the queue on (whoever looks
    at a run - `studio show`, a follow loop - is enough for the next one to start)."""
    if run["status"] not in runs.ACTIVE_STATUSES:
        return run
    if runs.is_waiting(run):
        if advance and run_queue.advance_quietly(db):
            return runs.get_run(db, run["id"])
        return run
    now = now or time.time()
    if run["status"] == "queued" and not run.get("pid"):
        # Claimed by start_next, worker not spawned yet; its launcher may have died in between.
        if now - (run.get("launched_at") or now) <= STALE_AFTER_S:
            return run
        reason = "its worker was never started"
    else:
        alive = process.is_alive(run.get("pid"), run.get("pid_started_at"))
        stale = run.get("heartbeat_at") is not None and now - run["heartbeat_at"] > STALE_AFTER_S
        if alive and not stale:
            return run
        reason = "worker process is gone" if not alive else f"no heartbeat for {now - run['heartbeat_at']:.0f} s"
    runs.set_status(db, run["id"], "crashed", error=f"{reason}; resume continues from the last complete checkpoint")
    if advance:
        run_queue.advance_quietly(db)
    return runs.get_run(db, run["id"])
