"""The saved comparisons, newest first: pick one to reopen it, or delete it (its adapters stay)."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from studio.store import comparisons

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def item_text(c: dict[str, Any]) -> str:
    """'#3 pirate vs chef — 4 prompts, 3 columns, 2 rated' from a list_comparisons row."""
    return (f"#{c['id']} {c['name'] or ''} — {c['n_prompts']} prompts, {len(c['adapters'])} columns, "
            f"{c['n_rated']} rated")


class SavedComparisons(QWidget):
    """`picked(id)` when the user selects one; `deleted(id)` after one was deleted from the store."""

    picked = Signal(int)
    deleted = Signal(int)

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.list = QListWidget()
        self.list.setToolTip("Saved comparisons, newest first: select one to reopen it (nothing is recomputed)")
        self.list.currentItemChanged.connect(self._changed)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected saved comparison (its adapters stay)")
        self.delete_button.clicked.connect(self.delete_selected)
        head = QHBoxLayout()
        head.addWidget(QLabel("Saved comparisons:"), 1)
        head.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.list)
        self.delete_button.setEnabled(False)

    def reload(self, current: int | None = None) -> None:
        """Re-read the list from the store, selecting `current` (without a `picked` signal)."""
        self.list.blockSignals(True)
        self.list.clear()
        for c in comparisons.list_comparisons(self._db):
            item = QListWidgetItem(item_text(c))
            item.setData(ID_ROLE, c["id"])
            item.setToolTip(f"base {c['base_model']}; columns: {', '.join(c['adapters'])}\n"
                            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c['created_at']))}")
            self.list.addItem(item)
            if c["id"] == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def ids(self) -> list[int]:
        """The listed comparisons' ids, newest first."""
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def _changed(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        self.delete_button.setEnabled(item is not None)
        if item is not None:
            self.picked.emit(item.data(ID_ROLE))

    def delete_selected(self) -> None:
        """Ask, then delete the selected comparison."""
        item = self.list.currentItem()
        if item is None:
            return
        answer = QMessageBox.question(self, "Delete comparison", f"Delete the saved comparison {item.text()}?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        cid = item.data(ID_ROLE)
        comparisons.delete_comparison(self._db, cid)
        self.reload()
        self.deleted.emit(cid)
