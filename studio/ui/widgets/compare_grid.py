"""A comparison shown: the outputs grid (one row per prompt, one column per adapter and the base; cells
that differ from the base highlighted; a 1-5 rating per cell) and the eval metrics side by side."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QContextMenuEvent, QFont, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QMenu, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from studio.store.comparisons import BASE, RATINGS, grid_rows, metric_rows

OUTPUT_ROLE = Qt.ItemDataRole.UserRole + 1
DIFF_BRUSH = QBrush(QColor(255, 176, 0, 70))    # amber wash: readable on the light and the dark theme
WRONG_BRUSH = QBrush(QColor(217, 83, 79, 70))   # a wrong prediction
SAME_BRUSH = QBrush(QColor(128, 128, 128))      # text of a cell identical to the base's
LOWER_IS_BETTER = ("loss", "perplexity")
PROMPT_WIDTH = 220  # pixels of the prompt column; the outputs share the rest
MAX_HEADER_WIDTH = 280  # a longer column name elides in the middle (full name in its tooltip)
TOP_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop


def stars(n: int) -> str:
    """'★★★☆☆' for 3."""
    return "★" * n + "☆" * (RATINGS.stop - 1 - n)


def best_column(name: str, values: dict[str, Any]) -> str | None:
    """The column with the best value of a metric (lowest loss/perplexity, highest anything else)."""
    numbers = {c: v for c, v in values.items() if isinstance(v, (int, float))}
    if len(numbers) < 2 or name == "tokens":
        return None
    pick = min if any(k in name for k in LOWER_IS_BETTER) else max
    return pick(numbers, key=numbers.__getitem__)


def fit_headers(table: QTableWidget, labels: list[str], first: int = 0) -> None:
    """Column names shown whole: columns share the width but never get narrower than the longest name
    (up to MAX_HEADER_WIDTH, then elided in the middle), scrolling sideways instead; tooltips hold the names."""
    header = table.horizontalHeader()
    header.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    metrics = header.fontMetrics()
    widest = max((metrics.horizontalAdvance(label) for label in labels), default=0)
    header.setMinimumSectionSize(min(widest + 24, MAX_HEADER_WIDTH))  # 24: the section's padding
    for k, label in enumerate(labels, first):  # `first`: the column labels[0] names
        item = table.horizontalHeaderItem(k)
        if item is not None:
            item.setToolTip(label)


class CompareGrid(QTableWidget):
    """The outputs grid; `rated(row, column, rating or None)` when the user rates a cell."""

    rated = Signal(int, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.columns: list[str] = []
        self.setWordWrap(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("Highlighted cells differ from the base. Rate a cell 1-5 with the keys 1-5 (0 clears) "
                        "or its right-click menu; ratings are saved with the comparison.")

    def show_comparison(self, c: dict[str, Any] | None) -> None:
        """Fill the grid from a stored comparison (None empties it)."""
        self.clear()
        self.columns = list(c["adapters"]) if c else []
        rows = grid_rows(c) if c else []
        self.setColumnCount(len(self.columns) + 1)
        self.setRowCount(len(rows))
        labels = ["Prompt", *("base only" if col == BASE else col for col in self.columns)]
        self.setHorizontalHeaderLabels(labels)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        fit_headers(self, labels[1:], first=1)
        self.setColumnWidth(0, PROMPT_WIDTH)
        for r, row in enumerate(rows):
            prompt = QTableWidgetItem(row["prompt"])
            prompt.setToolTip(row["prompt"])
            prompt.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not a cell to rate
            prompt.setTextAlignment(TOP_LEFT)
            self.setItem(r, 0, prompt)
            base_text = row["outputs"].get(BASE)
            for k, col in enumerate(self.columns, 1):
                text = row["outputs"].get(col, "")
                item = QTableWidgetItem()
                item.setData(OUTPUT_ROLE, text)
                item.setTextAlignment(TOP_LEFT)
                if col != BASE and base_text is not None:
                    same = text == base_text
                    if not same:
                        item.setBackground(DIFF_BRUSH)
                    else:
                        item.setForeground(SAME_BRUSH)
                    item.setToolTip("Same as the base" if same else "Differs from the base")
                self.setItem(r, k, item)
                self._show_rating(r, k, row["ratings"].get(col))
        self.resizeRowsToContents()

    def differs(self, row: int, column: str) -> bool:
        """Whether a cell is highlighted as different from the base."""
        return self.item(row, self.columns.index(column) + 1).background().style() != Qt.BrushStyle.NoBrush

    def output(self, row: int, column: str) -> str:
        """A cell's generated text (without its rating)."""
        return self.item(row, self.columns.index(column) + 1).data(OUTPUT_ROLE)

    def set_rating(self, row: int, column: str, rating: int | None) -> None:
        """Show a cell's rating (after it was saved)."""
        self._show_rating(row, self.columns.index(column) + 1, rating)
        self.resizeRowToContents(row)

    def _show_rating(self, r: int, k: int, rating: int | None) -> None:
        item = self.item(r, k)
        text = item.data(OUTPUT_ROLE)
        item.setText(f"{text}\n{stars(rating)}" if rating else text)

    def _column_at(self, k: int) -> str | None:
        return self.columns[k - 1] if 1 <= k <= len(self.columns) else None

    def rating_actions(self, row: int, column: str) -> list[QAction]:
        """The context menu's actions for one cell: rate 1-5, clear."""
        actions = []
        for n in RATINGS:
            action = QAction(f"{stars(n)}  rate {n}", self)
            action.triggered.connect(lambda _=False, v=n: self.rated.emit(row, column, v))
            actions.append(action)
        clear = QAction("Clear rating", self)
        clear.triggered.connect(lambda _=False: self.rated.emit(row, column, None))
        return [*actions, clear]

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self.itemAt(event.pos())
        column = self._column_at(item.column()) if item is not None else None
        if column is None:
            return
        menu = QMenu(self)
        menu.addActions(self.rating_actions(item.row(), column))
        menu.exec(event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        column = self._column_at(item.column()) if item is not None else None
        key = event.text()
        if column is not None and key in {str(n) for n in RATINGS}:
            self.rated.emit(item.row(), column, int(key))
        elif column is not None and (key == "0" or event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)):
            self.rated.emit(item.row(), column, None)
        else:
            super().keyPressEvent(event)


class CompareMetrics(QWidget):
    """Eval metrics per column (the best bold) and, for classifiers, each column's predictions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file = QLabel("No eval file in this comparison.")
        self.file.setWordWrap(True)
        self.metrics = QTableWidget(0, 0)
        self.metrics.setToolTip("One value per column on the eval file; the best of each row is bold")
        self.predictions = QTableWidget(0, 0)
        self.predictions.setToolTip("Each example's gold label and every column's prediction; wrong ones "
                                    "are highlighted")
        for table in (self.metrics, self.predictions):
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file)
        layout.addWidget(self.metrics, 1)
        layout.addWidget(self.predictions, 2)

    def show_comparison(self, c: dict[str, Any] | None) -> None:
        """Fill both tables from a stored comparison (empty when it has no eval)."""
        evaluation = (c or {}).get("results", {}).get("eval") or {}
        cols = list(c["adapters"]) if c else []
        rows = metric_rows(c) if evaluation else []
        self.file.setText(f"On {c.get('eval_file')} ({evaluation.get('rows', '?')} examples)"
                          if rows else "No eval file in this comparison.")
        labels = ["base only" if col == BASE else col for col in cols]
        self.metrics.clear()
        self.metrics.setRowCount(len(rows))
        self.metrics.setColumnCount(len(cols))
        self.metrics.setHorizontalHeaderLabels(labels)
        fit_headers(self.metrics, labels)
        self.metrics.setVerticalHeaderLabels([name for name, _ in rows])
        bold = QFont()
        bold.setBold(True)
        for r, (name, values) in enumerate(rows):
            best = best_column(name, values)
            for k, col in enumerate(cols):
                v = values.get(col)
                item = QTableWidgetItem("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == best:
                    item.setFont(bold)
                self.metrics.setItem(r, k, item)
        gold, preds = evaluation.get("gold") or [], evaluation.get("predictions") or {}
        self.predictions.setVisible(bool(gold))
        self.predictions.clear()
        self.predictions.setRowCount(len(gold))
        self.predictions.setColumnCount(len(cols) + 1)
        self.predictions.setHorizontalHeaderLabels(["gold", *labels])
        fit_headers(self.predictions, labels, first=1)
        for r, g in enumerate(gold):
            self.predictions.setItem(r, 0, QTableWidgetItem(str(g)))
            for k, col in enumerate(cols, 1):
                p = (preds.get(col) or [None] * len(gold))[r]
                item = QTableWidgetItem("" if p is None else str(p))
                if p is not None and p != g:
                    item.setBackground(WRONG_BRUSH)
                self.predictions.setItem(r, k, item)

