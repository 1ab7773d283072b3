"""Runs page fixes from the second QA click-through (issue 12): preference accuracy in the table, a
readable log pane, no stale tokens/s, a visible status dot on a selected row, a preference run's name."""
from __future__ import annotations

import time

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QPlainTextEdit

from studio.store import metrics, open_db, runs
from studio.ui.status_colors import DOT_SIZE, status_dot
from studio.ui.widgets.run_detail import LOG_MIN_LINES, RunDetail
from studio.ui.widgets.runs_table import COLUMNS, RunsTableModel
from tests.ui.conftest import make_run


def _accuracy_cell(last: dict[str, float]) -> str:
    model = RunsTableModel()
    model.set_runs([{"id": 1, "name": "p", "status": "completed", "step": 4, "max_steps": 4}], {1: last})
    return model.data(model.index(0, COLUMNS.index("Accuracy")))


def test_preference_runs_show_their_preference_accuracy_eval_first():
    assert _accuracy_cell({"rewards/accuracies": 0.75}) != ""
    assert _accuracy_cell({"rewards/accuracies": 0.75}) == _accuracy_cell({"eval_accuracy": 0.75})
    both = {"rewards/accuracies": 0.25, "eval_rewards/accuracies": 0.75}
    assert _accuracy_cell(both) == _accuracy_cell({"eval_accuracy": 0.75})


def test_log_pane_wraps_and_keeps_several_lines(qtbot, home):
    detail = RunDetail(open_db(None), home)
    qtbot.addWidget(detail)
    detail.resize(1000, 500)
    detail.show()
    assert detail.log_box.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    assert detail.log_box.minimumHeight() >= LOG_MIN_LINES * detail.log_box.fontMetrics().lineSpacing()


def test_tokens_per_s_reads_a_dash_once_the_run_is_not_running(qtbot, home):
    db = open_db(None)
    run_id = make_run(db, status="running", step=3, max_steps=10)
    now = time.time()
    metrics.add_metrics(db, run_id, [(s, "tokens_per_s", 500.0, now) for s in (1, 2, 3)])
    detail = RunDetail(db, home)
    qtbot.addWidget(detail)
    detail.show_run(runs.get_run(db, run_id))
    assert detail.speed_label.text() == "500"
    runs.set_status(db, run_id, "paused")
    detail.show_run(runs.get_run(db, run_id))
    assert detail.speed_label.text() == "—"


def test_the_status_dot_of_a_selected_row_has_a_light_ring(qtbot):
    icon = status_dot("running")
    edge = (0, DOT_SIZE // 2)  # the dot's left rim: the ring is drawn there, the fill is not
    size = QSize(DOT_SIZE, DOT_SIZE)
    normal = icon.pixmap(size, QIcon.Mode.Normal).toImage().pixelColor(*[e + 1 for e in edge])
    selected = icon.pixmap(size, QIcon.Mode.Selected).toImage().pixelColor(*[e + 1 for e in edge])
    assert selected.lightness() > normal.lightness() + 60, (normal.name(), selected.name())
    assert selected.lightness() > QColor("#1565c0").lightness() + 60


def test_a_preference_run_is_named_for_its_task(qtbot, home):
    from studio.ui.pages.wizard import WizardPage

    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.set_model("sample:smollm2")
    assert page.model_step.name_edit.text() == "smollm2-ft"
    step = page.model_step
    step.task_box.setCurrentIndex(step.task_box.findData("preference"))
    assert step.name_edit.text() == "smollm2-pref"
    step.name_edit.textEdited.emit("mine")  # typed by the user: a task change leaves it alone
    step.name_edit.setText("mine")
    step.task_box.setCurrentIndex(step.task_box.findData("causal-lm"))
    assert step.name_edit.text() == "mine"
