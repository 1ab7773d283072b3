"""One run's metric rows for the monitor: the backlog read on a pool thread, then new rows by id.

A run of 10^5 steps has close to a million metric rows; reading them into dicts takes seconds, so
the first read happens off the GUI thread. After it, each poll asks only for rows with an id above
the last one seen (an indexed range read of a few rows), which is cheap at 10 Hz.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from studio.jobs import db_file
from studio.store import metrics, open_db
from studio.ui import tasks

# (wall time, step) samples handed to the step-rate estimate; the recent ones are all it needs.
RATE_SAMPLES = 400


@dataclass
class Batch:
    """New points per metric name (steps, values as float64 arrays) and recent (wall time, step)."""

    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    times: list[tuple[float, int]] = field(default_factory=list)
    last_id: int = 0

    def __bool__(self) -> bool:
        return bool(self.series)


def group_rows(rows: list[dict[str, Any]]) -> Batch:
    """Store rows (ordered by id) → a Batch; a NULL value becomes NaN (a gap in the curve)."""
    xs: dict[str, list[float]] = defaultdict(list)
    ys: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        xs[row["name"]].append(row["step"])
        ys[row["name"]].append(np.nan if row["value"] is None else row["value"])
    times = [(r["wall_time"], r["step"]) for r in rows[-RATE_SAMPLES:] if r["wall_time"] is not None]
    series = {n: (np.asarray(xs[n], dtype=np.float64), np.asarray(ys[n], dtype=np.float64)) for n in xs}
    return Batch(series, times, rows[-1]["id"] if rows else 0)


class MetricFeed(QObject):
    """poll() → a Batch of rows new since the last poll (empty while the backlog is loading)."""

    ready = Signal()  # the backlog has arrived: poll now rather than at the next timer tick

    def __init__(self, db: Any, run_id: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db, self.run_id = db, run_id
        self._after_id = 0
        self._state = "new"  # new → loading → live
        self._backlog: Batch | None = None
        self._task: tasks.Task | None = None

    @property
    def loading(self) -> bool:
        """True until the backlog has arrived."""
        return self._state != "live"

    def poll(self) -> Batch:
        """Rows added since the last call, grouped by metric name."""
        if self._state == "new":
            path = db_file(self._db)
            if path is None:  # an in-memory store cannot be shared with a thread: read it here
                self._loaded(group_rows(metrics.get_metrics(self._db, self.run_id)), None, None)
            else:
                self._state = "loading"
                self._task = tasks.start(tasks.Task(lambda: _load(path, self.run_id)), self._loaded)
        if self._state != "live":
            return Batch()
        batch, self._backlog = self._backlog, None
        rows = metrics.get_metrics(self._db, self.run_id, after_id=self._after_id)
        if rows:
            new = group_rows(rows)
            batch = new if batch is None else _concat(batch, new)
        if batch is None:
            return Batch()
        self._after_id = max(self._after_id, batch.last_id)
        return batch

    @Slot(object, object, object)
    def _loaded(self, result: Any, error: Any, _tag: Any) -> None:
        self._task = None
        # A failed read (file gone, locked for 30 s) starts over from the poll that follows.
        self._backlog = result if error is None else None
        self._after_id = result.last_id if error is None else 0
        self._state = "live" if error is None else "new"
        if error is None:
            self.ready.emit()


def _load(path: str, run_id: int) -> Batch:
    """Pool thread: every row of the run so far, grouped (its own connection: threads never share)."""
    db = open_db(path)
    try:
        return group_rows(metrics.get_metrics(db, run_id))
    finally:
        db.conn.close()


def _concat(a: Batch, b: Batch) -> Batch:
    """The backlog followed by the rows that arrived while it loaded."""
    series = dict(a.series)
    for name, (x, y) in b.series.items():
        if name in series:
            series[name] = (np.concatenate([series[name][0], x]), np.concatenate([series[name][1], y]))
        else:
            series[name] = (x, y)
    return Batch(series, (a.times + b.times)[-RATE_SAMPLES:], max(a.last_id, b.last_id))
