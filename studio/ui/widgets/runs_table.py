"""The runs table: a model over store rows that updates in place, and a progress-bar delegate."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar,
                               QStyleOptionViewItem)

from studio import jobs
from studio.ui.widgets.column_model import ColumnTableModel
from studio.ui.progress import format_metric
from studio.ui.status_colors import status_color, status_dot

ACCURACY_METRICS = ("eval_accuracy", "eval_rewards/accuracies", "rewards/accuracies")
COLUMNS = ("ID", "Name", "Status", "Model", "Method", "Progress", "Train loss", "Eval loss", "Accuracy")
PROGRESS_COLUMN = COLUMNS.index("Progress")
FRACTION_ROLE = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


def progress(run: dict[str, Any]) -> tuple[str, float | None]:
    """('step/max_steps', fraction or None) for a run row."""
    step, max_steps = run.get("step") or 0, run.get("max_steps")
    if not max_steps:
        return f"{step}/?", None
    return f"{step}/{max_steps}", min(1.0, step / max_steps)


class RunsTableModel(ColumnTableModel):
    """Runs newest first, each with its latest metric values."""

    columns = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._runs: list[dict[str, Any]] = []
        self._last: dict[int, dict[str, float]] = {}

    def set_runs(self, runs: list[dict[str, Any]], last: dict[int, dict[str, float]]) -> None:
        """Replace the rows; same ids in the same order update in place so selection survives."""
        same = [r["id"] for r in runs] == [r["id"] for r in self._runs]
        if not same:
            self.beginResetModel()
        self._runs, self._last = list(runs), dict(last)
        if not same:
            self.endResetModel()
        elif runs:
            self.dataChanged.emit(self.index(0, 0), self.index(len(runs) - 1, len(COLUMNS) - 1))

    def run_at(self, row: int) -> dict[str, Any] | None:
        """The run shown on a row."""
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def row_of(self, run_id: int) -> int | None:
        """The row showing a run id."""
        return next((i for i, r in enumerate(self._runs) if r["id"] == run_id), None)

    def row_count(self) -> int:
        return len(self._runs)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        run = self.run_at(index.row())
        if run is None:
            return None
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(run, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._status_tip(run) if col == "Status" else self._text(run, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == "Status":
            return status_color(run["status"])  # the theme's shade: the light one is unreadable on dark
        if role == Qt.ItemDataRole.DecorationRole and col == "Status":
            return status_dot(run["status"])  # colour and text: the dot is not the only cue
        if role == FRACTION_ROLE and col == "Progress":
            return progress(run)[1]
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("ID", "Train loss", "Eval loss", "Accuracy"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _status_tip(run: dict[str, Any]) -> str:
        if run.get("error"):
            return run["error"]
        if run.get("queue_position"):
            return (f"Number {run['queue_position']} in the queue: one run trains at a time, "
                    "the next starts when the running one ends")
        return jobs.status_text(run)

    def _text(self, run: dict[str, Any], col: str) -> str:
        last = self._last.get(run["id"], {})
        if col == "Status":
            return jobs.status_text(run)  # 'queued #2' shows the place in the queue
        if col == "Progress":
            return progress(run)[0]
        if col == "Train loss":
            return format_metric(last.get("train_loss"))
        if col == "Eval loss":
            return format_metric(last.get("eval_loss"))
        if col == "Accuracy":
            # A preference run has no eval_accuracy; its preference accuracy is the figure (eval first).
            name = next((n for n in ACCURACY_METRICS if last.get(n) is not None), ACCURACY_METRICS[0])
            return format_metric(last.get(name))
        key = {"ID": "id", "Name": "name", "Status": "status", "Model": "model", "Method": "method"}[col]
        value = run.get(key)
        return "" if value is None else str(value)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a bar labelled 'step/max_steps'."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        fraction = index.data(FRACTION_ROLE)
        if fraction is None:
            super().paint(painter, option, index)
            return
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 3, -3, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(round(fraction * 1000))
        bar.text = f"{index.data()}  {fraction:.0%}"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
