"""Run blocking calls (stop, pause, resume) on a pool thread and get the outcome in the GUI thread."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Task(QObject):
    """Carries one call's outcome back: done(result, error text or None, tag)."""

    done = Signal(object, object, object)

    def __init__(self, fn: Callable[[], Any], tag: Any = None) -> None:
        super().__init__()  # no parent: the owner keeps it alive until `done` has been delivered
        self._fn, self.tag = fn, tag

    def run(self) -> None:
        """Call the function (on a pool thread) and emit its outcome."""
        try:
            result, error = self._fn(), None
        except Exception as e:  # shown to the user; the GUI must survive any failure here
            result, error = None, str(e) or type(e).__name__
        # The receiver lives in the GUI thread, so Qt queues this call there.
        self.done.emit(result, error, self.tag)


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task

    def run(self) -> None:
        self._task.run()


def start(task: Task, on_done: Callable[[Any, Any, Any], None],
          pool: QThreadPool | None = None) -> Task:
    """Connect on_done (a bound slot of a GUI-thread QObject) and start the task on the pool."""
    task.done.connect(on_done)
    (pool or QThreadPool.globalInstance()).start(_Runnable(task))
    return task
