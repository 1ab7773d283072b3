"""Training runs: creation, lookup, status transitions and the worker's heartbeat."""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from studio.store.db import now, transaction

# Must match the CHECK constraint in migrations.m001_initial (tests verify it).
RUN_STATUSES = ("queued", "running", "paused", "completed", "failed", "cancelled", "crashed")
ACTIVE_STATUSES = ("queued", "running")
# Statuses that end a stretch of work: set_status stamps finished_at for these.
FINISHED_STATUSES = ("completed", "failed", "cancelled", "crashed", "paused")

_COLUMNS = frozenset(
    {
        "name", "status", "config", "model", "method", "task", "pid", "pid_started_at",
        "heartbeat_at", "created_at", "started_at", "finished_at", "error", "step",
        "max_steps", "warnings", "run_dir", "stage", "trainable_params", "total_params",
        "queued_at", "launched_at",
    }
)


class RunNotFound(LookupError):
    """No run with the given id or name."""

    def __init__(self, ref: int | str) -> None:
        self.ref = ref
        super().__init__(f"no run {ref!r}" if isinstance(ref, str) else f"no run {ref}")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    """Turn the JSON columns of a runs row back into Python objects."""
    row["config"] = json.loads(row["config"]) if row["config"] else {}
    row["warnings"] = json.loads(row["warnings"]) if row["warnings"] else []
    return row


def _check_status(status: str) -> None:
    """Refuse an unknown status with a clearer message than the CHECK constraint's."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")


def create_run(
    db: sqlite_utils.Database,
    *,
    name: str,
    config: dict[str, Any],
    model: str,
    method: str,
    task: str,
    max_steps: int | None,
    run_dir: str | None = None,
) -> int:
    """Insert a new run in status 'queued' (waiting at the back of the queue) and return its id."""
    stamp = now()
    cursor = db.execute(
        "INSERT INTO runs (name, status, config, model, method, task, max_steps, run_dir,"
        " created_at, queued_at, step, warnings) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, 0, '[]')",
        [name, json.dumps(config), model, method, task, max_steps,
         None if run_dir is None else str(run_dir), stamp, stamp],
    )
    return int(cursor.lastrowid)


def get_run(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    """Return one run as a dict (config and warnings decoded), or raise RunNotFound."""
    rows = list(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    if not rows:
        raise RunNotFound(run_id)
    return _decode(rows[0])


def find_run(db: sqlite_utils.Database, ref: str | int) -> dict[str, Any]:
    """Find a run by id, or by exact name (the newest run with that name)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        try:
            return get_run(db, int(ref))
        except RunNotFound:
            if isinstance(ref, int):
                raise
            # A run may be named "42"; fall through to the name lookup.
    rows = list(db.query("SELECT * FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1", [ref]))
    if not rows:
        raise RunNotFound(ref)
    return _decode(rows[0])


def list_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """All runs, newest first (ids are AUTOINCREMENT, so id order is creation order)."""
    return [_decode(row) for row in db.query("SELECT * FROM runs ORDER BY id DESC")]


def update_run(db: sqlite_utils.Database, run_id: int, **fields: Any) -> None:
    """Set arbitrary run columns; config (dict) and warnings (list) are JSON-encoded."""
    unknown = set(fields) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown run field(s): {', '.join(sorted(unknown))}")
    if "status" in fields:
        _check_status(fields["status"])
    values = dict(fields)
    for key in ("config", "warnings"):
        if key in values and not isinstance(values[key], str):
            values[key] = json.dumps(values[key])
    if "run_dir" in values and values["run_dir"] is not None:
        values["run_dir"] = str(values["run_dir"])
    if not values:
        get_run(db, run_id)  # still report a missing run
        return
    assignments = ", ".join(f"{key} = ?" for key in values)
    cursor = db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values.values(), run_id])
    if cursor.rowcount == 0:
        raise RunNotFound(run_id)


def set_status(db: sqlite_utils.Database, run_id: int, status: str, *, error: str | None = None) -> None:
    """Change a run's status, stamping started_at / finished_at and recording error."""
    _check_status(status)
    stamp = now()
    if status in ACTIVE_STATUSES:
        # Queued again or running again (resume): the run is no longer finished and
        # the previous attempt's error no longer describes it. started_at keeps the
        # first start so the run's total age stays visible. Queued again means waiting again,
        # at the back of the queue, with no worker launched for it yet.
        sql = (
            "UPDATE runs SET status = ?, finished_at = NULL, error = ?,"
            " started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,"
            " queued_at = CASE WHEN ? = 'queued' THEN ? ELSE queued_at END,"
            " launched_at = CASE WHEN ? = 'queued' THEN NULL ELSE launched_at END"
            " WHERE id = ?"
        )
        params: list[Any] = [status, error, status, stamp, status, stamp, status, run_id]
    else:
        # COALESCE keeps an earlier error when a later transition has none to add.
        sql = "UPDATE runs SET status = ?, finished_at = ?, error = COALESCE(?, error) WHERE id = ?"
        params = [status, stamp, error, run_id]
    if db.execute(sql, params).rowcount == 0:
        raise RunNotFound(run_id)


def claim_running(db: sqlite_utils.Database, run_id: int, pid: int, pid_started_at: float) -> bool:
    """Worker start-up: atomically move a queued run to running under this pid; False if not queued."""
    stamp = now()
    with transaction(db):
        # Only from 'queued': a run cancelled before its worker started, or one
        # already claimed by another worker, must not be trained (twice).
        cursor = db.execute(
            "UPDATE runs SET status = 'running', pid = ?, pid_started_at = ?, heartbeat_at = ?,"
            " started_at = COALESCE(started_at, ?), finished_at = NULL, error = NULL"
            " WHERE id = ? AND status = 'queued'",
            [pid, pid_started_at, stamp, stamp, run_id],
        )
        if cursor.rowcount == 0:
            get_run(db, run_id)  # raise RunNotFound if it does not exist at all
            return False
    return True


def is_waiting(run: dict[str, Any]) -> bool:
    """Queued with no worker launched yet: waiting for its turn."""
    return run["status"] == "queued" and run.get("launched_at") is None


def claim_next(db: sqlite_utils.Database) -> int | None:
    """Mark the oldest waiting run as being launched, unless a run is running or starting.

    One UPDATE under the write lock: two processes (the worker that just finished, a GUI refresh)
    can never both claim, nor claim while a run occupies the machine. Returns the claimed id."""
    with transaction(db):
        rows = db.execute(
            "UPDATE runs SET launched_at = ? WHERE id = ("
            "  SELECT id FROM runs WHERE status = 'queued' AND launched_at IS NULL"
            "  ORDER BY COALESCE(queued_at, created_at), id LIMIT 1)"
            " AND NOT EXISTS (SELECT 1 FROM runs WHERE status = 'running'"
            "  OR (status = 'queued' AND launched_at IS NOT NULL))"
            " RETURNING id",
            [now()],
        ).fetchall()  # read to the end: a RETURNING statement still in progress blocks COMMIT
    return int(rows[0][0]) if rows else None


def cancel_waiting(db: sqlite_utils.Database, run_id: int, status: str = "cancelled") -> bool:
    """Take a waiting run out of the queue (cancelled, or paused to hold it); False if it has left it."""
    _check_status(status)
    cursor = db.execute(
        "UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = 'queued'"
        " AND launched_at IS NULL",
        [status, now(), run_id],
    )
    return cursor.rowcount == 1


def queue_positions(db: sqlite_utils.Database) -> dict[int, int]:
    """Waiting runs' places in the queue (1 = next to start), by run id."""
    rows = db.execute(
        "SELECT id FROM runs WHERE status = 'queued' AND launched_at IS NULL"
        " ORDER BY COALESCE(queued_at, created_at), id"
    ).fetchall()
    return {int(row[0]): i for i, row in enumerate(rows, start=1)}


def occupying_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Runs holding the machine: running, or queued with a worker being launched."""
    return [_decode(row) for row in db.query(
        "SELECT * FROM runs WHERE status = 'running' OR (status = 'queued' AND launched_at IS NOT NULL)"
        " ORDER BY id")]


def heartbeat(db: sqlite_utils.Database, run_id: int, step: int | None = None) -> None:
    """Worker liveness stamp, optionally recording the current step."""
    if step is None:
        cursor = db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", [now(), run_id])
    else:
        cursor = db.execute(
            "UPDATE runs SET heartbeat_at = ?, step = ? WHERE id = ?", [now(), step, run_id]
        )
    if cursor.rowcount == 0:
        raise RunNotFound(run_id)


def add_warnings(db: sqlite_utils.Database, run_id: int, warnings: list[str]) -> None:
    """Append warnings to a run's list, skipping ones it already has (e.g. repeated on resume)."""
    if not warnings:
        return
    # Read-modify-write of a JSON list: must hold the write lock throughout.
    with transaction(db):
        current = get_run(db, run_id)["warnings"]
        for warning in warnings:
            if warning not in current:
                current.append(warning)
        db.execute("UPDATE runs SET warnings = ? WHERE id = ?", [json.dumps(current), run_id])


def delete_run(db: sqlite_utils.Database, run_id: int) -> None:
    """Delete a run; its metrics, checkpoints and commands go with it (adapters keep run_id NULL)."""
    if db.execute("DELETE FROM runs WHERE id = ?", [run_id]).rowcount == 0:
        raise RunNotFound(run_id)
