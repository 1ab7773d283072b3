"""The Adapters page: the library of trained and imported adapters — search, filter, details, notes and
tags, import (validated against the base), rename, delete, export and merge, and "compare these".

File work (import copies, deletes, crash recovery) runs on pool threads with their own database
connection; exports and merges need torch, so they run as `studio export|merge` child processes.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from studio.library import library
from studio.paths import Home
from studio.ui import tasks
from studio.ui.widgets.adapter_detail import AdapterDetail
from studio.ui.widgets.adapter_jobs import db_file, import_job, remove_job, with_own_db
from studio.ui.widgets.adapter_table import COLUMNS, AdapterTable, fill_choices, metrics_text
from studio.ui.widgets.empty_state import EmptyState
from studio.ui.widgets.error_dialog import show_error
from studio.ui.widgets.export_dialog import ExportDialog, mergeable, why_not_mergeable
from studio.ui.widgets.merge_dialog import MergeDialog, problems

__all__ = ["AdaptersPage", "COLUMNS", "metrics_text"]
ALL_METHODS = "All methods"
NO_ADAPTERS_HINT = ("Every completed run saves its adapter here: start one with New run (Ctrl+N). "
                    "Adapters trained elsewhere (PEFT folders) can be imported.")


class AdaptersPage(QWidget):
    """Library table (search + method filter) beside the selected adapter's details; actions above."""

    message = Signal(str)
    compare_adapters = Signal(list)  # adapter names (or folders) to open side by side in Compare

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self._db_path = db_file(db)
        self._tasks: dict[Any, tasks.Task] = {}  # by tag, until their outcome arrives
        self.dialog: QWidget | None = None  # the export or merge dialog on show
        self._shown_once = False

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name, method, base model, tags, notes…")
        self.search.setToolTip("Shows adapters whose name, method, base model, task, settings, dataset, "
                               "notes or tags contain every word")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.method_filter = QComboBox()
        self.method_filter.setToolTip("Show only adapters of one method")
        self.method_filter.addItem(ALL_METHODS)
        self.method_filter.currentTextChanged.connect(self.apply_filter)
        self.summary = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.method_filter)
        top.addWidget(self.summary, 1)

        actions = QHBoxLayout()
        for attr, text, tip, slot in (
                ("import_button", "Import…", "Add an adapter folder (PEFT or the studio's) to the library; it is "
                 "checked against its base first", self.import_folder),
                ("rename_button", "Rename…", "Rename the selected adapter (and its folder)", self.rename_selected),
                ("delete_button", "Delete…", "Delete the selected adapters: their rows and files",
                 self.delete_selected),
                ("export_button", "Export…", "", self.export_selected),
                ("merge_button", "Merge…", "Combine two or more LoRA adapters of one base (linear, TIES, DARE)",
                 self.merge_selected),
                ("compare_button", "Compare selected", "Open the Compare page with the selected adapters side "
                 "by side", self.compare_selected)):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, f=slot: f())
            setattr(self, attr, button)
            actions.addWidget(button)
        actions.addStretch(1)

        self.table = AdapterTable()
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(lambda _item: self.detail.open_folder())
        self.detail = AdapterDetail(db)
        self.detail.changed.connect(lambda _name: QTimer.singleShot(0, self.refresh))
        self.detail.message.connect(self.message)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.detail)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("adaptersSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([900, 380])

        # An empty library: say where adapters come from, with the import one click away.
        self.empty = EmptyState("adapters", "No adapters yet", NO_ADAPTERS_HINT, "Import an adapter folder…")
        self.empty.action.connect(self.import_button.click)
        self.empty.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.empty, 1)
        self._update_buttons()
        # Settle what a crash left in the library folder (half-done imports, merges, deletes), once.
        self._start(lambda: with_own_db(self._db_path, db, lambda c: library.recover(c, home)), self._recovered,
                    tag=("recover",))

    def _start(self, fn: Any, on_done: Any, tag: Any = None) -> None:
        task = tasks.Task(fn, tag=tag)
        if self._db_path is None:  # an in-memory store cannot be shared with a pool thread
            task.done.connect(on_done)
            task.run()
            return
        self._tasks[tag] = task
        tasks.start(task, on_done)

    @property
    def busy(self) -> bool:
        """True while an import, delete or recovery runs on a pool thread."""
        return bool(self._tasks)

    def _drop(self, tag: Any) -> None:
        self._tasks.pop(tag, None)

    # --- the table
    def refresh(self) -> None:
        """Re-read the library, keeping the selection, the search and the method filter."""
        keep = [r["name"] for r in self.table.selected_rows()]
        rows = library.find(self._db)
        fill_choices(self.method_filter, [ALL_METHODS, *sorted({r["method"] for r in rows if r.get("method")})])
        self.table.set_rows(rows, keep)
        self.apply_filter()
        if not self.selected() and not self._shown_once and rows:
            self.select(rows[0]["name"])  # first visit: the newest adapter's details, not an empty pane
        self._shown_once = True

    def apply_filter(self) -> None:
        """Show the rows matching the search text and the method filter."""
        method = self.method_filter.currentText()
        shown = self.table.apply_filter(self.search.text(), None if method == ALL_METHODS else method)
        total = len(self.table.rows)
        self.empty.setVisible(not total)
        self.splitter.setVisible(bool(total))
        # Empty: the centre's empty state says it once; the toolbar line repeated it (QA round 2, shot 27).
        self.summary.setText("" if not total else f"{total} adapter{'s' if total != 1 else ''}"
                             if shown == total else f"{shown} of {total} adapters")
        self._on_selection()

    def selected(self) -> list[dict[str, Any]]:
        """The selected library rows."""
        return self.table.selected_rows()

    def select(self, name: str) -> None:
        """Select one adapter by name."""
        r = self.table.row_of(name)
        if r >= 0:
            self.table.clearSelection()
            self.table.select_row(r)

    def _on_selection(self) -> None:
        rows = self.selected()
        self.detail.show_row(rows[0] if len(rows) == 1 else None)
        if len(rows) > 1:
            self.detail.title.setText(f"<h3>{len(rows)} adapters selected</h3>Compare them side by side, or "
                                      "merge them (LoRA adapters of one base).")
        self._update_buttons()

    def _update_buttons(self) -> None:
        rows = self.selected()
        one = len(rows) == 1
        self.rename_button.setEnabled(one)
        self.delete_button.setEnabled(bool(rows))
        self.export_button.setEnabled(one)
        # Merge… only for a selection that can be merged (LoRA causal-LM adapters of one base); else why not.
        merge_problems = problems(rows)
        self.merge_button.setEnabled(not merge_problems)
        self.merge_button.setToolTip("Combine the selected LoRA adapters of one base (linear, TIES, DARE)"
                                     if not merge_problems else "Cannot merge: " + "; ".join(merge_problems))
        self.compare_button.setEnabled(bool(rows))
        can_merge = not one or mergeable(rows[0].get("method"))
        self.export_button.setText("Export…" if can_merge else "Export adapter only…")
        self.export_button.setToolTip(
            "Export the selected adapter merged into its base (bf16/fp16/fp32), as GGUF for llama.cpp and "
            "Ollama, or the adapter alone"
            if can_merge else why_not_mergeable(rows[0].get("method")))

    # --- actions
    def import_folder(self, folder: str | None = None, base: str | None = None) -> None:
        """Choose an adapter folder and import it on a pool thread (validated against its base)."""
        folder = folder or QFileDialog.getExistingDirectory(self, "Import an adapter folder", str(self._home.root))
        if not folder:
            return
        self.import_button.setEnabled(False)
        self.message.emit(f"Importing {folder}…")
        path, db, home = self._db_path, self._db, self._home
        self._start(lambda: with_own_db(path, db, lambda c: import_job(c, home, folder, base)), self._imported,
                    tag=("import", folder))

    def _imported(self, result: Any, error: Any, tag: Any) -> None:
        self._drop(tag)
        self.import_button.setEnabled(True)
        folder = tag[1]
        if error is not None:
            show_error(self, "Import failed", f"Could not import {folder}: {error}")
        elif "refused" in result:
            why = result["refused"]
            show_error(self, "Import refused", why.replace("\n  ", "\n• "), why)
        elif "base_missing" in result:
            self._ask_base(folder, result["base_missing"])
        else:
            self.refresh()
            self.select(result["row"]["name"])
            self.message.emit(f"Imported {result['row']['name']} into the library")

    def _ask_base(self, folder: str, why: str) -> None:
        answer = QMessageBox.question(self, "Base model not found", f"{why}\n\nChoose the base model's folder?")
        if answer == QMessageBox.StandardButton.Yes:
            base = QFileDialog.getExistingDirectory(self, "The base model's folder", str(self._home.models_dir))
            if base:
                self.import_folder(folder, base)

    def rename_selected(self) -> None:
        """Ask for a new name and rename the selected adapter (row and folder)."""
        rows = self.selected()
        if len(rows) != 1:
            return
        old = rows[0]["name"]
        new, ok = QInputDialog.getText(self, "Rename adapter", f"New name for {old}:", text=old)
        new = new.strip()
        if not ok or not new or new == old:
            return
        try:
            library.rename_adapter(self._db, self._home, old, new)
        except (ValueError, LookupError, OSError) as e:
            show_error(self, "Rename failed", f"Could not rename {old}: {e}")
            return
        self.refresh()
        self.select(new)
        self.message.emit(f"Renamed {old} to {new}")

    def delete_selected(self) -> None:
        """Ask, then delete the selected adapters' rows and folders together."""
        rows = self.selected()
        if not rows:
            return
        names = [r["name"] for r in rows]
        listing = "\n".join(f"• {r['name']}  ({r['path']})" for r in rows)
        answer = QMessageBox.question(self, "Delete adapters", f"Delete {len(rows)} adapter(s) and their files?"
                                      f"\n\n{listing}\n\nThis cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.delete_button.setEnabled(False)
        path, db, home = self._db_path, self._db, self._home
        self._start(lambda: with_own_db(path, db, lambda c: remove_job(c, home, names)), self._deleted,
                    tag=("delete", tuple(names)))

    def _deleted(self, result: Any, error: Any, tag: Any) -> None:
        self._drop(tag)
        self.refresh()
        if error is not None:
            show_error(self, "Delete failed", f"Could not delete {', '.join(tag[1])}: {error}")
        else:
            self.message.emit(f"Deleted {', '.join(result)}")

    def _recovered(self, result: Any, error: Any, tag: Any) -> None:
        self._drop(tag)
        if error is not None:
            self.message.emit(f"Library check failed: {error}")
        elif result:
            self.message.emit("Library: " + "; ".join(result))
            self.refresh()

    def export_selected(self) -> None:
        """The export dialog for the selected adapter (merged, or adapter only for other methods)."""
        rows = self.selected()
        if len(rows) == 1:
            dialog = ExportDialog(self._home, rows[0], self)
            dialog.exported.connect(lambda r: self.message.emit(f"Exported {rows[0]['name']} to {r['path']}"))
            dialog.exported.connect(lambda r: self._on_selection())  # the detail lists the new export
            self._show_dialog(dialog)

    def merge_selected(self) -> None:
        """The merge dialog for the selected adapters."""
        rows = self.selected()
        if len(rows) >= 2:
            dialog = MergeDialog(self._home, rows, self)
            dialog.compare_requested.connect(self.compare_adapters)
            dialog.saved.connect(lambda r: (self.refresh(), self.select(r["name"]),
                                            self.message.emit(f"Saved the merged adapter as {r['name']}")))
            self._show_dialog(dialog)

    def _show_dialog(self, dialog: QWidget) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def compare_selected(self) -> None:
        """Open the selected adapters in the Compare page."""
        names = [r["name"] for r in self.selected()]
        if names:
            self.compare_adapters.emit(names)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
