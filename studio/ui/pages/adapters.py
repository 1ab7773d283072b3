"""The Adapters page: the library of saved adapters, newest first."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studio.paths import Home
from studio.store import adapters
from studio.ui.progress import format_bytes, format_count

COLUMNS = ("Name", "Method", "Base model", "Task", "Trainable params", "Size", "Final metrics", "Created")
NO_ADAPTERS = "No adapters yet: a completed run saves one here."
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def metrics_text(values: dict[str, Any]) -> str:
    """'eval_loss 0.512 · eval_accuracy 0.91' from an adapter's final metrics."""
    return " · ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                      for k, v in sorted(values.items()))


class AdaptersPage(QWidget):
    """Adapters table, re-read when shown and on refresh(); opens an adapter's folder."""

    message = Signal(str)

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self.summary = QLabel()
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the adapter's files in the file manager")
        self.open_button.clicked.connect(self.open_selected)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.open_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Final metrics"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_button)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._update_button()

    def refresh(self) -> None:
        """Re-read the adapters from the store, keeping the selected one selected."""
        selected = self.selected_path()
        rows = adapters.list_adapters(self._db)
        self.table.setRowCount(len(rows))
        for r, a in enumerate(rows):
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(a["created_at"])) \
                if a.get("created_at") else ""
            cells = (a["name"], a.get("method") or "", a.get("base_model") or "", a.get("task") or "",
                     format_count(a.get("trainable_params")), format_bytes(a.get("size_bytes")),
                     metrics_text(a.get("metrics") or {}), created)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(a["path"] if c == 0 else text)
                item.setData(PATH_ROLE, a["path"])
                if COLUMNS[c] in ("Trainable params", "Size"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
            if a["path"] == selected:
                self.table.selectRow(r)
        self.summary.setText(NO_ADAPTERS if not rows else
                             f"{len(rows)} adapter{'s' if len(rows) != 1 else ''} in {self._home.adapters_dir}")
        self._update_button()

    def selected_path(self) -> str | None:
        """Folder of the selected adapter, if any."""
        items = self.table.selectedItems()
        return items[0].data(PATH_ROLE) if items else None

    def open_selected(self) -> None:
        """Open the selected adapter's folder in the desktop's file manager."""
        path = self.selected_path()
        if not path:
            return
        if not Path(path).is_dir():
            self.message.emit(f"The adapter folder is missing: {path}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _update_button(self) -> None:
        self.open_button.setEnabled(self.selected_path() is not None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
