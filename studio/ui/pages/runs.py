"""The Runs page: every run with live status and queue place; one selected run's curves, log and
controls, or, with several selected, their curves overlaid and their config differences."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QSplitter, QStackedWidget, QTableView,
                               QVBoxLayout, QWidget)

from studio import jobs
from studio.paths import Home
from studio.store import metrics, open_db
from studio.jobs import run_admin
from studio.ui import tasks
from studio.ui.widgets.empty_state import EmptyState
from studio.ui.widgets.run_actions import RunActions
from studio.ui.widgets.run_detail import RunDetail
from studio.ui.widgets.run_overlay import RunOverlay
from studio.ui.widgets.runs_table import COLUMNS, PROGRESS_COLUMN, ProgressDelegate, RunsTableModel

NO_RUNS = "No runs yet — New run (Ctrl+N) sets one up: model, data, method, training."
NO_RUNS_HINT = ("Pick a model, your data and a method in the New run wizard; the run trains in the "
                "background and its curves appear here, even after the window was closed.")
NO_SELECTION = "Select a run to see its curves, progress and worker log."


def db_file(db: Any) -> str:
    """The file behind a store connection (pool threads open their own connection to it)."""
    path = jobs.db_file(db)
    if path:
        return path
    raise RuntimeError("stop, pause and resume need a database file, not an in-memory store")


class RunsPage(QWidget):
    """Runs table refreshed at ~1 Hz (liveness checked), detail plots polled at ~10 Hz."""

    message = Signal(str)  # one-line outcomes for the status bar
    clone_config = Signal(dict)  # a run's config for a new wizard (the table's context menu)
    new_run = Signal()  # the empty page's New run button

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None,
                 refresh_ms: int = 1000, plot_ms: int = 100) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self._busy: dict[int, str] = {}  # run id → command in flight
        self._tasks: dict[tuple[int, str], tasks.Task] = {}
        self._last_cache: dict[int, tuple[tuple, dict[str, float]]] = {}
        self._refreshing = False

        self.model = RunsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Ctrl/Shift-click selects several runs to compare.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setToolTip("Select a run to follow it; Ctrl- or Shift-click several to compare them")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in (("ID", 44), ("Name", 150), ("Status", 90), ("Method", 80), ("Progress", 170),
                           ("Train loss", 80), ("Eval loss", 80), ("Accuracy", 80)):
            header.resizeSection(COLUMNS.index(col), width)
        header.setSectionResizeMode(COLUMNS.index("Model"), QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        # Right-click: clone config, open folder, rename, delete with files (widgets/run_actions.py).
        self.actions = RunActions(self.table, db, home, jobs.db_file(db) if db is not None else None)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self.actions.show_menu)
        self.actions.message.connect(self.message)
        self.actions.clone_config.connect(self.clone_config)
        self.actions.changed.connect(self.refresh)

        self.detail = RunDetail(db, home)
        for button, kind in ((self.detail.stop_button, "stop"), (self.detail.pause_button, "pause"),
                             (self.detail.resume_button, "resume")):
            button.clicked.connect(lambda _=False, k=kind: self.send(k))
        self.overlay = RunOverlay(db)
        self.views = QStackedWidget()
        self.views.addWidget(self.detail)
        self.views.addWidget(self.overlay)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.views)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([200, 600])  # about six runs visible above the curves
        # No runs at all: say what to do next instead of an empty table over an empty plot area.
        self.empty = EmptyState("runs", "No runs yet", NO_RUNS_HINT, "New run  (Ctrl+N)")
        self.empty.action.connect(self.new_run)
        self.empty.hide()
        self._split = split
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        layout.addWidget(self.empty)

        # Polling the local WAL database is cheap; timers run only while the page is visible.
        self._refresh_timer = QTimer(self, interval=refresh_ms, timeout=self.refresh)
        self._plot_timer = QTimer(self, interval=plot_ms, timeout=self.poll_metrics)

    # --- data
    def refresh(self) -> None:
        """Re-read runs (marking dead workers crashed, starting the next queued one), keep the selection."""
        runs = jobs.refresh(self._db, self._home)
        last = {r["id"]: self._last_values(r) for r in runs}
        selected = self.selected_run_ids()
        self._refreshing = True  # a model reset drops the selection; do not treat that as a change
        try:
            self.model.set_runs(runs, last)
            if not selected and runs:
                selected = [runs[0]["id"]]  # open on the newest run
            if selected and self.selected_run_ids() != selected:
                self._select(selected)
        finally:
            self._refreshing = False
        self._show_selected()

    def _last_values(self, run: dict[str, Any]) -> dict[str, float]:
        # Latest metrics change only when the step or status does; skip the queries otherwise.
        key = (run["status"], run.get("step"), run.get("finished_at"))
        cached = self._last_cache.get(run["id"])
        if cached is None or cached[0] != key:
            cached = (key, metrics.last_values(self._db, run["id"]))
            self._last_cache[run["id"]] = cached
        return cached[1]

    def selected_run_ids(self) -> list[int]:
        """Ids of the selected runs, in table order."""
        return [r["id"] for r in self.selected_runs()]

    def selected_runs(self) -> list[dict[str, Any]]:
        """The selected runs' rows as last read, in table order."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [run for run in map(self.model.run_at, rows) if run is not None]

    def selected_run_id(self) -> int | None:
        """Id of the selected run when exactly one is selected."""
        run = self.selected_run()
        return None if run is None else run["id"]

    def selected_run(self) -> dict[str, Any] | None:
        """The selected run's row when exactly one is selected."""
        runs = self.selected_runs()
        return runs[0] if len(runs) == 1 else None

    def select_run(self, run_id: int) -> None:
        """Select a run by id (no-op if it is not listed)."""
        self.select_runs([run_id])

    def select_runs(self, run_ids: list[int]) -> None:
        """Select these runs (two or more: the overlay view); works before the page is first shown."""
        if any(self.model.row_of(i) is None for i in run_ids):
            self.refresh()  # a run just submitted, or a page never shown yet: read the table first
        self._select(run_ids)

    def _select(self, run_ids: list[int]) -> None:
        rows = [r for r in map(self.model.row_of, run_ids) if r is not None]
        if not rows:
            return
        flags = QItemSelectionModel.SelectionFlag
        selection = QItemSelection()
        for row in rows:
            selection.select(self.model.index(row, 0), self.model.index(row, len(COLUMNS) - 1))
        model = self.table.selectionModel()
        model.select(selection, flags.ClearAndSelect | flags.Rows)
        model.setCurrentIndex(self.model.index(rows[0], 0), flags.NoUpdate)

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._refreshing:
            self._show_selected()

    def _show_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) >= 2:
            self.overlay.show_runs(runs)
            self.views.setCurrentWidget(self.overlay)
            return
        if self.overlay.run_ids:
            self.overlay.show_runs([])  # its feeds and cached curves are not needed any more
        self.views.setCurrentWidget(self.detail)
        none = self.model.rowCount() == 0
        self.empty.setVisible(none)
        self._split.setVisible(not none)
        if not runs:
            self.detail.show_empty(NO_RUNS if none else NO_SELECTION)
        else:
            self.detail.show_run(runs[0], self._busy.get(runs[0]["id"]))

    def poll_metrics(self) -> None:
        """New metric rows into the visible plots (the plot timer, ~10 Hz)."""
        if self.views.currentWidget() is self.overlay:
            self.overlay.poll_metrics()
        else:
            self.detail.poll_metrics()

    # --- commands
    def send(self, kind: str) -> None:
        """Stop (cancel, if queued), pause or resume the selected run on a pool thread (they block)."""
        run = self.selected_run()
        if run is None or run["id"] in self._busy:
            return
        run_id, home = run["id"], self._home
        try:
            path = db_file(self._db)
        except RuntimeError as e:
            self.message.emit(str(e))
            return

        def call() -> str:
            db = open_db(path)  # SQLite connections belong to the thread that opened them
            try:
                if kind == "resume":
                    if jobs.resume(db, home, run_id) is None:
                        return f"Run {run_id} is queued: it resumes when the running run ends."
                    return f"Run {run_id} resumed."
                # Stop: a paused run has no worker to ask; run_admin cancels it, checkpoints kept.
                outcome = run_admin.stop(db, run_id) if kind == "stop" else jobs.request(db, run_id, kind)
                return f"Run {run_id} is {outcome['status']}."
            finally:
                db.conn.close()

        self._busy[run_id] = kind
        task = tasks.Task(call, tag=(run_id, kind))
        self._tasks[(run_id, kind)] = task
        tasks.start(task, self._command_done)
        verb = "cancel" if kind == "stop" and run["status"] == "queued" else kind
        self.message.emit(f"Asking run {run_id} to {verb}…")
        self._show_selected()

    @property
    def busy(self) -> dict[int, str]:
        """Commands in flight, by run id."""
        return dict(self._busy)

    @Slot(object, object, object)
    def _command_done(self, result: Any, error: Any, tag: Any) -> None:
        run_id, kind = tag
        self._busy.pop(run_id, None)
        self._tasks.pop(tag, None)
        self.message.emit(f"Could not {kind} run {run_id}: {error}" if error else str(result))
        self.refresh()

    # --- visibility
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._refresh_timer.start()
        self._plot_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._refresh_timer.stop()
        self._plot_timer.stop()
