"""The New run wizard's page: Model → Data → Method → Training → Review, building one RunConfig-shaped dict.

Each step validates what it holds and keeps Next disabled, with the reason inline (the field's key
path or the data's file:line), until it is complete. Everything heavy (tokenizing the data,
probing parameter counts, queueing the run) is a `studio` child process (see WizardState).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QPushButton, QStackedWidget, QVBoxLayout,
                               QWidget)

from studio.config import ConfigError
from studio.paths import Home
from studio.ui.pages.wizard.data_step import DataStep
from studio.ui.pages.wizard.fill import fill_steps, read_config
from studio.ui.pages.wizard.method_step import MethodStep
from studio.ui.pages.wizard.model_step import ModelStep
from studio.ui.pages.wizard.review_step import ReviewStep
from studio.ui.pages.wizard.state import WizardState, unique_name
from studio.ui.pages.wizard.training_step import TrainingStep

class WizardPage(QWidget):
    """Step list on the side, the current step, Back/Next; `run_started(run_id)` once a run is queued."""

    message = Signal(str)
    run_started = Signal(int)

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self.state = WizardState(home, self)
        self.model_step = ModelStep(self.state)
        self.data_step = DataStep(self.state)
        self.method_step = MethodStep(self.state)
        self.training_step = TrainingStep(self.state)
        self.review_step = ReviewStep(self.state)
        self.steps = [self.model_step, self.data_step, self.method_step, self.training_step, self.review_step]
        self.step_list = QListWidget()
        self.step_list.setFixedWidth(120)
        self.step_list.setToolTip("Go back to any step; later steps open once the earlier ones are complete")
        self.stack = QStackedWidget()
        for i, step in enumerate(self.steps):
            self.step_list.addItem(f"{i + 1}. {step.title}")
            self.stack.addWidget(step)
            step.changed.connect(self._update_buttons)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setStyleSheet("color:#c0392b;")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("The previous step (nothing entered is lost)")
        self.next_button = QPushButton("Next")
        self.next_button.setToolTip("The next step; enabled once this one is complete")
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(lambda: self.go(self.current - 1))
        self.next_button.clicked.connect(lambda: self.go(self.current + 1))
        self.step_list.currentRowChanged.connect(self._on_list_row)
        self.review_step.run_started.connect(self.run_started)
        # Once a run is queued, New run (Ctrl+N, the list) opens a fresh wizard, not this one at Review.
        self.review_step.run_started.connect(lambda _run_id: self.start_over())
        self.model_step.load_requested.connect(self.load_config)
        self.review_step.message.connect(self.message)
        bar = QHBoxLayout()
        bar.addWidget(self.problem, 1)
        bar.addWidget(self.back_button)
        bar.addWidget(self.next_button)
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addLayout(bar)
        layout = QHBoxLayout(self)
        layout.addWidget(self.step_list)
        layout.addLayout(right, 1)
        self.current = 0
        self.go(0)

    def set_model(self, ref: str) -> None:
        """Start the wizard on a model (the Models page calls this)."""
        self.model_step.set_model(ref)
        self.go(0)

    def use_preference_data(self, model: str, path: str) -> None:
        """Start the wizard on a preference file (Compare's export): task preference on its base model."""
        self.model_step.task_box.setCurrentIndex(self.model_step.task_box.findData("preference"))
        self.model_step.set_model(model)
        self.data_step.train_edit.setText(path)
        self.go(0)
        self.go(1)  # the Data step, once the model step is complete (else the model step says why)

    def start_over(self) -> None:
        """A fresh wizard: every step empty, at the Model step."""
        fill_steps(self)

    def load_config(self, path: str) -> bool:
        """Fill every step from a config file; its error (file and field) shows on the Model step."""
        try:
            config, explicit_lr = read_config(path)
        except (ConfigError, OSError) as e:
            self.go(0)
            self.model_step.show_problem(f"Cannot load the config: {e}")
            return False
        fill_steps(self, config, explicit_lr)
        self.message.emit(f"Loaded {path}")
        return True

    def clone(self, config: dict) -> None:
        """Start from another run's config (the Runs page's Clone config), under a free name."""
        config = {**config, "name": unique_name(config.get("name") or "run", self.state.taken_names())}
        fill_steps(self, config)
        self.message.emit(f"New run {config['name']} with the cloned settings: check them, then Start")

    def refresh(self) -> None:
        """Re-check the current step (files may have changed on disk)."""
        self.steps[self.current].enter()

    def reachable(self, index: int) -> bool:
        """A step opens when every step before it is complete."""
        return all(step.error() is None for step in self.steps[:index])

    def go(self, index: int) -> None:
        """Show step `index` if it is reachable; entering a step refreshes it from the shared state."""
        if not 0 <= index < len(self.steps) or (index > self.current and not self.reachable(index)):
            self._sync_list()
            return
        self.current = index
        self.stack.setCurrentIndex(index)
        self._sync_list()
        self.steps[index].enter()
        self._update_buttons()

    def _on_list_row(self, row: int) -> None:
        if row != self.current:
            self.go(row)

    def _sync_list(self) -> None:
        self.step_list.blockSignals(True)
        self.step_list.setCurrentRow(self.current)
        self.step_list.blockSignals(False)

    def _update_buttons(self) -> None:
        problem = self.steps[self.current].error()
        last = self.current == len(self.steps) - 1
        self.back_button.setEnabled(self.current > 0)
        self.next_button.setVisible(not last)
        self.next_button.setEnabled(problem is None and not last)
        self.problem.setText(problem or "")
        # Before anything is entered the message is a prompt, and while a check runs it is progress:
        # neither is an error, so no red for them.
        step = self.steps[self.current]
        calm = getattr(step, "untouched", lambda: False)() or getattr(step, "checking", lambda: False)()
        # Spelled out, never "": a label that was red before its first show stays red when cleared to "".
        self.problem.setStyleSheet("color: palette(window-text);" if calm else "color:#c0392b;")
        for i in range(self.step_list.count()):
            item = self.step_list.item(i)
            flags = item.flags()
            open_ = i <= self.current or self.reachable(i)
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if open_ else flags & ~Qt.ItemFlag.ItemIsEnabled)
