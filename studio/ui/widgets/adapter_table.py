"""The adapter library's table: one row per adapter, filtered in place by a search text and a method."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from studio.ui.progress import format_bytes, format_count
from studio.ui.status_colors import status_color, status_dot

COLUMNS = ("Name", "Method", "Base model", "Task", "Settings", "Trainable params", "Size", "Dataset",
           "Final metrics", "Created", "Tags")
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
SEARCHED = ("name", "method", "base_model", "task", "notes", "dataset", "source", "settings_text")


def metrics_text(values: dict[str, Any]) -> str:
    """'eval_loss 0.512 · eval_accuracy 0.91' from an adapter's final metrics."""
    return " · ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                      for k, v in sorted(values.items()))


def created_text(row: dict[str, Any]) -> str:
    """'2024-05-01 14:03' from a row's created_at (empty when unknown)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"])) if row.get("created_at") else ""


def cells(row: dict[str, Any]) -> tuple[str, ...]:
    """The text of each column for one library row (library.find's dicts)."""
    return (row["name"], row.get("method") or "", row.get("base_model") or "", row.get("task") or "",
            row.get("settings_text") or "", format_count(row.get("trainable_params")),
            format_bytes(row.get("size_bytes")), row.get("dataset") or "", metrics_text(row.get("metrics") or {}),
            created_text(row), ", ".join(row.get("tags") or []))


def matches(row: dict[str, Any], text: str, method: str | None) -> bool:
    """Whether a row passes the search box (every word somewhere in it) and the method filter."""
    if method and row.get("method") != method:
        return False
    hay = " ".join([str(row.get(k) or "") for k in SEARCHED] + list(row.get("tags") or [])).lower()
    return all(word in hay for word in text.lower().split())


def adapter_status(row: dict[str, Any]) -> str:
    """'missing' when the adapter's folder is gone, else 'completed' (ready to use)."""
    return "missing" if row.get("missing") else "completed"


def fill_choices(combo: QComboBox, choices: list[str]) -> None:
    """Replace a filter combo's items, keeping its choice when it is still offered (no signal)."""
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(choices)
    combo.setCurrentText(current if current in choices else choices[0])
    combo.blockSignals(False)


class AdapterTable(QTableWidget):
    """Library rows (newest first); multi-select; rows whose folder is missing are greyed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.rows: list[dict[str, Any]] = []
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)  # one line per adapter; long names and paths elide in the middle
        self.setSortingEnabled(False)  # newest first, as the library lists them
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.setToolTip("Select one adapter to see it; Ctrl/Shift-click to select several to compare or merge")

    def set_rows(self, rows: list[dict[str, Any]], keep: list[str] | None = None) -> None:
        """Show these rows; `keep`: names to select again afterwards."""
        self.rows = rows
        self.blockSignals(True)  # one selection signal at the end, not one per row
        self.clearSelection()
        self.setRowCount(len(rows))
        grey = QBrush(QColor(128, 128, 128))
        for r, row in enumerate(rows):
            for c, text in enumerate(cells(row)):
                item = QTableWidgetItem(text)
                item.setData(NAME_ROLE, row["name"])
                item.setToolTip(self._tip(row, c, text))
                if COLUMNS[c] in ("Trainable params", "Size"):
                    item.setTextAlignment(RIGHT)
                if row.get("missing"):
                    item.setForeground(grey)
                if c == 0:  # a status dot by the name: ready (green) or its folder missing (red)
                    state = adapter_status(row)
                    item.setIcon(status_dot(state))
                    if state == "missing":
                        item.setForeground(status_color(state))
                self.setItem(r, c, item)
        for r, row in enumerate(rows):
            if keep and row["name"] in keep:
                self.select_row(r)
        self.blockSignals(False)
        if len(rows) and self.columnWidth(0) == self.horizontalHeader().defaultSectionSize():
            self.resizeColumnsToContents()  # first fill: fit; later the user's widths stay
            for c in range(len(COLUMNS)):
                self.setColumnWidth(c, min(self.columnWidth(c), 200))
        self.itemSelectionChanged.emit()

    def select_row(self, r: int) -> None:
        """Add a row to the selection (selectRow would drop the others in extended mode)."""
        model = self.selectionModel()
        model.select(self.model().index(r, 0), model.SelectionFlag.Select | model.SelectionFlag.Rows)

    @staticmethod
    def _tip(row: dict[str, Any], column: int, text: str) -> str:
        if column == 0:
            # The whole name (the cell may elide it) and where the adapter lives.
            return f"{row['name']}\n{row['path']}" + ("\nThe folder is missing" if row.get("missing") else "")
        return text

    def apply_filter(self, text: str, method: str | None) -> int:
        """Hide rows that do not match; returns how many are shown."""
        shown = 0
        for r, row in enumerate(self.rows):
            ok = matches(row, text, method)
            self.setRowHidden(r, not ok)
            shown += ok
        return shown

    def selected_rows(self) -> list[dict[str, Any]]:
        """The selected (visible) rows, in table order."""
        picked = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [self.rows[r] for r in picked if r < len(self.rows) and not self.isRowHidden(r)]

    def row_of(self, name: str) -> int:
        """Table row of an adapter by name (-1 when absent)."""
        return next((r for r, row in enumerate(self.rows) if row["name"] == name), -1)
