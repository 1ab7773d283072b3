"""Training metrics: batched writes from the worker, incremental reads for the GUI."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from studio.store.db import transaction


def add_metrics(
    db: sqlite_utils.Database, run_id: int, rows: Sequence[tuple[int, str, float, float]]
) -> None:
    """Insert (step, name, value, wall_time) rows for a run in one transaction; one row per (name, step)."""
    if not rows:
        return
    # One commit per batch: readers see a whole batch or none of it, and the
    # worker pays one fsync-free WAL append instead of one per row. A (run, name, step) already
    # recorded keeps its row: the Trainer logs 'epoch' with the loss and again with the eval, and
    # rows restored from a checkpoint's log on resume may already be there.
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO metrics (run_id, step, name, value, wall_time) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id, name, step) DO NOTHING",
            [(run_id, int(step), name, float(value), None if wall_time is None else float(wall_time))
             for step, name, value, wall_time in rows],
        )


def get_metrics(
    db: sqlite_utils.Database, run_id: int, name: str | None = None, after_id: int = 0
) -> list[dict[str, Any]]:
    """Metric rows of a run with id > after_id, ordered by id (pass the last id seen to poll)."""
    if name is None:
        sql = "SELECT * FROM metrics WHERE run_id = ? AND id > ? ORDER BY id"
        params: list[Any] = [run_id, after_id]
    else:
        sql = "SELECT * FROM metrics WHERE run_id = ? AND name = ? AND id > ? ORDER BY id"
        params = [run_id, name, after_id]
    return list(db.query(sql, params))


def metric_names(db: sqlite_utils.Database, run_id: int) -> list[str]:
    """Distinct metric names logged for a run, sorted alphabetically."""
    return [
        row["name"]
        for row in db.query(
            "SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name", [run_id]
        )
    ]


def last_values(db: sqlite_utils.Database, run_id: int) -> dict[str, float]:
    """Each metric's value at its highest step."""
    result: dict[str, float] = {}
    # One indexed LIMIT 1 lookup per name on (run_id, name, step) rather than a
    # grouped scan of every row, which grows with the length of the run.
    for name in metric_names(db, run_id):
        row = next(
            db.query(
                "SELECT value FROM metrics WHERE run_id = ? AND name = ?"
                " ORDER BY step DESC, id DESC LIMIT 1",
                [run_id, name],
            )
        )
        result[name] = row["value"]
    return result


def delete_after_step(db: sqlite_utils.Database, run_id: int, step: int) -> int:
    """Delete a run's metrics with step > step (resume from a checkpoint); returns rows deleted."""
    cursor = db.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", [run_id, step])
    return cursor.rowcount

