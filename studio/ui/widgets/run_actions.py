"""The Runs table's context menu: clone a run's config into a new wizard, open its folder, rename it,
delete it with its files. The rules (what may be deleted, valid names) are studio.jobs.run_admin's,
shared with `studio runs rename|rm`."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QTableView, QWidget

from studio.jobs import run_admin
from studio.paths import Home
from studio.store import open_db
from studio.ui import tasks


class RunActions(QObject):
    """Builds the menu for the run under the cursor and carries out its actions."""

    message = Signal(str)
    clone_config = Signal(dict)  # the run's config, for a new wizard
    changed = Signal()  # a run was renamed or deleted: re-read the table

    def __init__(self, table: QTableView, db: Any, home: Home, db_path: str | None) -> None:
        super().__init__(table)
        self._table, self._db, self._home, self._db_path = table, db, home, db_path
        self._deleting: dict[int, tasks.Task] = {}
        self.menu: QMenu | None = None  # the last menu shown (tests trigger its actions)

    def menu_for(self, run: dict[str, Any]) -> QMenu:
        """The menu for one run; actions that do not apply are disabled and say why."""
        menu = QMenu(self._table)
        clone = menu.addAction("Clone config into a new run…", lambda: self.clone(run))
        clone.setEnabled(bool(run.get("config")))
        menu.addAction("Open run folder", lambda: self.open_folder(run))
        menu.addAction("Rename…", lambda: self.rename(run))
        menu.addSeparator()
        delete = menu.addAction("Delete run and its files…", lambda: self.delete(run))
        if not run_admin.deletable(run) or run["id"] in self._deleting:
            delete.setEnabled(False)
            delete.setText("Delete run and its files… (stop it first)")
        menu.setToolTipsVisible(True)
        for action in menu.actions():
            action.setToolTip(_TIPS.get(action.text().split(" (")[0], ""))
        self.menu = menu
        return menu

    @Slot(QPoint)
    def show_menu(self, pos: QPoint) -> None:
        """customContextMenuRequested: the menu for the run under the cursor."""
        index = self._table.indexAt(pos)
        run = self._table.model().run_at(index.row()) if index.isValid() else None
        if run is not None:
            self.menu_for(run).popup(self._table.viewport().mapToGlobal(pos))

    # --- actions (each a method, so tests can drive them without a menu or a dialog)
    def clone(self, run: dict[str, Any]) -> None:
        """A new wizard holding this run's settings."""
        self.clone_config.emit(dict(run["config"]))

    def folder(self, run: dict[str, Any]) -> str:
        """The run's folder: config, checkpoints, worker log."""
        return run.get("run_dir") or str(self._home.run_dir(run["id"]))

    def open_folder(self, run: dict[str, Any]) -> None:
        """Show the run's folder in the file manager."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder(run))):
            self.message.emit(f"Could not open {self.folder(run)}")

    def ask_name(self, run: dict[str, Any]) -> str | None:
        """The new name, or None when the dialog was cancelled."""
        text, ok = QInputDialog.getText(self._parent(), "Rename run", f"New name for run {run['id']}:",
                                        text=run["name"])
        return text if ok else None

    def rename(self, run: dict[str, Any]) -> None:
        """Rename the run (refused, with the reason, for an invalid or taken name)."""
        new = self.ask_name(run)
        if new is None or new.strip() == run["name"]:
            return
        try:
            run_admin.rename(self._db, run["id"], new)
        except ValueError as e:
            self.message.emit(f"Not renamed: {e}")
            QMessageBox.warning(self._parent(), "Not renamed", str(e))
            return
        self.message.emit(f"Run {run['id']} is now {new.strip()}")
        self.changed.emit()

    def confirm_delete(self, run: dict[str, Any]) -> bool:
        """Ask before deleting: what goes (record, curves, folder) and what stays (its adapters)."""
        answer = QMessageBox.question(
            self._parent(), "Delete run?",
            f"Delete run {run['id']} ({run['name']}): its curves, checkpoints and worker log, and the folder "
            f"{self.folder(run)}? Adapters saved from it stay in the library. This cannot be undone.")
        return answer == QMessageBox.StandardButton.Yes

    def delete(self, run: dict[str, Any]) -> None:
        """Delete the run and its folder on a pool thread (checkpoints can be large), after asking."""
        if not run_admin.deletable(run):
            self.message.emit(f"Run {run['id']} is {run['status']}: stop it first, then delete it")
            return
        if run["id"] in self._deleting or not self.confirm_delete(run):
            return
        if self._db_path is None:
            self.message.emit("Deleting needs a database file, not an in-memory store")
            return
        path, home, run_id = self._db_path, self._home, run["id"]

        def call() -> str:
            db = open_db(path)  # SQLite connections belong to the thread that opened them
            try:
                run_admin.delete(db, home, run_id)
            finally:
                db.conn.close()
            return f"Run {run_id} deleted with its files"

        task = tasks.Task(call, tag=run_id)
        self._deleting[run_id] = task
        tasks.start(task, self._deleted)
        self.message.emit(f"Deleting run {run_id}…")

    @Slot(object, object, object)
    def _deleted(self, result: Any, error: Any, run_id: Any) -> None:
        self._deleting.pop(run_id, None)
        self.message.emit(f"Could not delete run {run_id}: {error}" if error else str(result))
        self.changed.emit()

    @property
    def deleting(self) -> set[int]:
        """Runs whose deletion is in flight."""
        return set(self._deleting)

    def _parent(self) -> QWidget:
        return self._table.window()


_TIPS = {
    "Clone config into a new run…": "Open New run with this run's model, data, method and training settings",
    "Open run folder": "Its config.yaml, checkpoints and worker.log in the file manager",
    "Rename…": "Another name for the run (its adapter keeps its own name; rename that on the Adapters page)",
    "Delete run and its files…": "Its record, curves, checkpoints and folder; not a running run, not its adapters",
}
