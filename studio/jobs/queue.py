"""The run queue: one run trains at a time per data home; the next starts when the machine is free."""
from __future__ import annotations

from typing import Any

from studio.jobs import liveness
from studio.jobs.files import home_of
from studio.paths import Home
from studio.store import runs


def start_next(db: Any, home: Home) -> int | None:
    """Start the oldest waiting run unless one is running or starting; returns the id started."""
    # The launcher is looked up on the package face: `jobs.launch` is the public name, and
    # whoever replaces it there (a test that must not spawn workers) is obeyed here too.
    from studio import jobs

    run_id = runs.claim_next(db)  # atomic: of two processes calling at once, one claims
    if run_id is None:
        return None
    try:
        jobs.launch(db, home, run_id)
    except Exception as e:  # a claimed run must not stay 'starting' and block the queue
        runs.set_status(db, run_id, "failed", error=f"its worker could not be started: {e}")
        return None
    return run_id


def advance(db: Any, home: Home | None = None) -> int | None:
    """Check the runs holding the machine; when none is left, start the next waiting run."""
    busy = [r for r in runs.occupying_runs(db) if liveness.check_liveness(db, r, advance=False)["status"]
            in runs.ACTIVE_STATUSES]
    home = home or home_of(db)
    return None if busy or home is None else start_next(db, home)


def advance_quietly(db: Any) -> int | None:
    """advance() for callers that only meant to look: a launch failure is recorded, not raised."""
    try:
        return advance(db)
    except Exception:
        return None


def refresh(db: Any, home: Home | None = None) -> list[dict]:
    """All runs, newest first, liveness checked, the queue moved on; queue_position set on waiting runs."""
    rows = [liveness.check_liveness(db, r, advance=False) for r in runs.list_runs(db)]
    waiting = any(runs.is_waiting(r) for r in rows)
    occupied = any(r["status"] in runs.ACTIVE_STATUSES and not runs.is_waiting(r) for r in rows)
    home = home or home_of(db)
    if waiting and not occupied and home is not None and start_next(db, home) is not None:
        rows = runs.list_runs(db)
    positions = runs.queue_positions(db) if waiting else {}
    for r in rows:
        r["queue_position"] = positions.get(r["id"])
    return rows


def queue_position(db: Any, run_id: int) -> int | None:
    """A waiting run's place in the queue (1 = next); None when it is not waiting."""
    return runs.queue_positions(db).get(run_id)


def status_text(run: dict) -> str:
    """The status as people read it: 'queued #2' while waiting its turn, 'starting' once launched."""
    if run["status"] != "queued":
        return run["status"]
    if not runs.is_waiting(run):
        return "starting"
    return f"queued #{run['queue_position']}" if run.get("queue_position") else "queued"
