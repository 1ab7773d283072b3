"""The model browser's table: local models (and Hub search results) with their facts, sortable and
filtered by the search box."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import (QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt)
from PySide6.QtGui import QColor

from studio.modelinfo.facts import ModelFacts
from studio.modelinfo.scan import ModelEntry
from studio.ui.widgets.column_model import ColumnTableModel
from studio.ui.progress import format_bytes, format_count

COLUMNS = ("Name", "Architecture", "Parameters", "Dtype", "Layers", "Hidden", "Vocab", "Size", "Source")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NUMERIC = {"Parameters", "Layers", "Hidden", "Vocab", "Size"}
SOURCE_TIPS = {"sample": "A real model shipped in an installed Python package",
               "cache": "Downloaded into the Hugging Face cache",
               "folder": "In a folder you added", "gguf": "A GGUF file in a folder you added",
               "hub": "On the Hugging Face Hub, not downloaded yet"}

Index = QModelIndex | QPersistentModelIndex


def hub_entry(row: dict[str, Any]) -> ModelEntry:
    """A Hub search result as a table row: no facts until it is downloaded."""
    bits = [f"{row['downloads']:,} downloads" if row.get("downloads") is not None else "",
            f"{row['likes']:,} likes" if row.get("likes") is not None else "",
            row.get("pipeline_tag") or "", row.get("library") or ""]
    facts = ModelFacts(notes=[" · ".join(b for b in bits if b)])
    return ModelEntry(row["id"], row["id"], "hub", "", facts)


def cell(entry: ModelEntry, col: str) -> tuple[str, Any]:
    """(display text, sort key) of one cell."""
    f = entry.facts
    if col == "Name":
        return entry.name, entry.name.lower()
    if col == "Architecture":
        text = f.architecture or ("(problem)" if f.problem else "")
        return text, text.lower()
    if col == "Parameters":
        return (f"{f.params:,}" if f.params else ""), f.params or 0
    if col == "Dtype":
        return f.dtype or "", f.dtype or ""
    if col == "Size":
        return (format_bytes(f.size_bytes) if f.size_bytes is not None else ""), f.size_bytes or 0
    if col == "Source":
        return entry.source, entry.source
    value = {"Layers": f.layers, "Hidden": f.hidden_size, "Vocab": f.vocab_size}[col]
    return ("" if value is None else str(value)), value or 0


class ModelsTableModel(ColumnTableModel):
    """Rows of ModelEntry: the local scan first, then the latest Hub results."""

    columns = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._local: list[ModelEntry] = []
        self._hub: list[ModelEntry] = []

    @property
    def entries(self) -> list[ModelEntry]:
        """Every row, in model order."""
        return self._local + self._hub

    def set_local(self, entries: list[ModelEntry]) -> None:
        """Replace the local models."""
        self.beginResetModel()
        self._local = list(entries)
        local = {e.ref for e in self._local}
        self._hub = [e for e in self._hub if e.ref not in local]
        self.endResetModel()

    def set_hub(self, rows: list[dict[str, Any]]) -> None:
        """Replace the Hub results (ones already on this machine are left out)."""
        local = {e.ref for e in self._local}
        self.beginResetModel()
        self._hub = [hub_entry(r) for r in rows if r["id"] not in local]
        self.endResetModel()

    def entry_at(self, row: int) -> ModelEntry | None:
        """The entry on a (source model) row."""
        rows = self.entries
        return rows[row] if 0 <= row < len(rows) else None

    def row_of(self, ref: str) -> int | None:
        """The row of a model ref."""
        return next((i for i, e in enumerate(self.entries) if e.ref == ref), None)

    def row_count(self) -> int:
        return len(self._local) + len(self._hub)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.entry_at(index.row())
        if entry is None:
            return None
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell(entry, col)[0]
        if role == SORT_ROLE:
            return cell(entry, col)[1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if entry.facts.problem:
                return QColor("#c62828")
            if entry.source == "hub":
                return QColor("#1565c0")
        return None

    def _tooltip(self, entry: ModelEntry, col: str) -> str:
        f = entry.facts
        if f.problem:
            return f.problem
        if col == "Name":
            return entry.path or entry.ref
        if col == "Parameters" and f.params:
            return f"{format_count(f.params)} parameters (exact, from the weight file headers)"
        if col == "Dtype" and f.dtypes:
            return "Parameters per stored type: " + ", ".join(f"{t} {format_count(n)}" for t, n in f.dtypes.items())
        if col == "Source":
            return SOURCE_TIPS.get(entry.source, entry.source)
        return " · ".join(f.notes) if entry.source == "hub" else cell(entry, col)[0]


class ModelsFilter(QSortFilterProxyModel):
    """Sorts by each column's sort key and keeps rows whose name, architecture or source match."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        """Keep rows containing every word of text (name, architecture, type, dtype or source)."""
        self.beginFilterChange()  # Qt 6.10+: replaces the deprecated invalidateFilter()
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        entry = self.sourceModel().entry_at(row)
        if entry is None or not self._words:
            return True
        if entry.source == "hub":
            return True  # the Hub already searched for the text
        f = entry.facts
        hay = " ".join(str(x or "") for x in (entry.name, entry.ref, f.architecture, f.model_type,
                                               f.dtype, entry.source)).lower()
        return all(w in hay for w in self._words)
