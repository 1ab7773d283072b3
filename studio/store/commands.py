"""Commands from the GUI/CLI to a run's worker (stop, pause), polled by the worker."""
from __future__ import annotations

from typing import Any

import sqlite_utils

from studio.store.db import now, transaction
from studio.store.runs import get_run

# Must match the CHECK constraint in migrations.m001_initial (tests verify it).
COMMAND_KINDS = ("stop", "pause")


def send_command(db: sqlite_utils.Database, run_id: int, kind: str) -> int:
    """Queue a command for a run's worker; returns the command id."""
    if kind not in COMMAND_KINDS:
        raise ValueError(f"unknown command {kind!r}; expected one of {', '.join(COMMAND_KINDS)}")
    with transaction(db):
        get_run(db, run_id)  # RunNotFound reads better than a foreign-key IntegrityError
        cursor = db.execute(
            "INSERT INTO commands (run_id, kind, created_at) VALUES (?, ?, ?)",
            [run_id, kind, now()],
        )
    return int(cursor.lastrowid)


def pending_command(db: sqlite_utils.Database, run_id: int) -> dict[str, Any] | None:
    """The oldest unhandled command for a run, or None."""
    rows = list(
        db.query(
            "SELECT * FROM commands WHERE run_id = ? AND handled_at IS NULL ORDER BY id LIMIT 1",
            [run_id],
        )
    )
    return rows[0] if rows else None


def mark_handled(db: sqlite_utils.Database, command_id: int) -> None:
    """Mark a command handled (keeps the first handled_at if called twice)."""
    cursor = db.execute(
        "UPDATE commands SET handled_at = COALESCE(handled_at, ?) WHERE id = ?",
        [now(), command_id],
    )
    if cursor.rowcount == 0:
        raise LookupError(f"no command {command_id}")


def clear_commands(db: sqlite_utils.Database, run_id: int) -> int:
    """Mark all of a run's pending commands handled (on resume); returns how many."""
    cursor = db.execute(
        "UPDATE commands SET handled_at = ? WHERE run_id = ? AND handled_at IS NULL",
        [now(), run_id],
    )
    return cursor.rowcount
