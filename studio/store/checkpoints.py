"""Checkpoints a run saved: one row per (run, step)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_utils

from studio.store.db import now, transaction


def add_checkpoint(db: sqlite_utils.Database, run_id: int, step: int, path: str | Path) -> int:
    """Record a checkpoint, replacing the path of an existing one at the same step; returns its id."""
    with transaction(db):
        # Upsert keeps the row id stable when a resumed run re-saves the same step.
        db.execute(
            "INSERT INTO checkpoints (run_id, step, path, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path,"
            " created_at = excluded.created_at",
            [run_id, step, str(path), now()],
        )
        row = next(
            db.query("SELECT id FROM checkpoints WHERE run_id = ? AND step = ?", [run_id, step])
        )
    return int(row["id"])


def list_checkpoints(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    """A run's checkpoints, ascending by step."""
    return list(db.query("SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step", [run_id]))


def remove_checkpoint(db: sqlite_utils.Database, run_id: int, step: int) -> bool:
    """Forget the checkpoint at step (the files are the caller's business); True if one existed."""
    cursor = db.execute("DELETE FROM checkpoints WHERE run_id = ? AND step = ?", [run_id, step])
    return cursor.rowcount > 0
