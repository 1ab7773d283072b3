"""The Training step's settings column is never narrower than its fields: no sideways scrolling, no cut combos."""
from __future__ import annotations

from PySide6.QtWidgets import QScrollArea

from studio.ui.pages.wizard.state import WizardState
from studio.ui.pages.wizard.training_step import TrainingStep


def test_the_settings_column_fits_its_fields_without_a_sideways_scrollbar(qtbot, home):
    state = WizardState(home)
    state.config["task"] = "preference"  # the widest column: the preference box on top
    step = TrainingStep(state)
    qtbot.addWidget(step)
    step.resize(950, 650)  # the page's size in a 1280-pixel window
    step.show()
    step.enter()
    scroll = step.findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.viewport().width() > 0)
    qtbot.wait(50)
    assert step.preference.isVisible()
    assert not scroll.horizontalScrollBar().isVisible(), (scroll.viewport().width(), scroll.widget().minimumSizeHint())
