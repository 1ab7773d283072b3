"""Wizard step 4: hyperparameters (per-method learning rate), ULMFiT controls, speed and memory
settings (packing, activation checkpointing, kernels), processes (GPUs, DDP/FSDP, effective batch) and a
live preview of the learning rate of every layer group, computed by the same pure functions the trainer uses."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.config import (CHECKPOINTING, PACKING, ConfigError, TrainingSpec, UlmfitSpec, build_dataclass,
                           field_docs)
from studio.core.schedules import group_learning_rates, schedule_spec
from studio.core.ulmfit_guards import ulmfit_problems
from studio.ui.pages.wizard.distributed_panel import DistributedPanel
from studio.ui.pages.wizard.form import Form, specs_from_dataclass
from studio.ui.pages.wizard.lr_find_panel import LrFindPanel
from studio.ui.pages.wizard.preference_settings import PreferenceSettings
from studio.ui.widgets.fit_width_scroll import FitWidthScrollArea
from studio.ui.widgets.live_plot import pg
from studio.ui.widgets.plot_legend import LegendPlotWidget

MAX_POINTS = 2000  # preview resolution; keeps a 100k-step schedule well under the 100 ms budget
SPEED_FIELDS = ["packing", "activation_checkpointing", "kernels", "oom_retry"]
# ulmfit and distributed are boxes of their own (distributed_panel.py).
TRAINING_FIELDS = [f for f in field_docs(TrainingSpec) if f not in ("ulmfit", "distributed", *SPEED_FIELDS)]
# Typed `Any` in TrainingSpec (YAML's on/off booleans and {every_n: K} are accepted there).
# The schedule list shows what "stlr" is; the config value stays stlr.
TRAINING_OVERRIDES = {"schedule": {"labels": {"stlr": "slanted triangular (ULMFiT)"}}}
SPEED_OVERRIDES = {"packing": {"kind": "choice", "choices": PACKING},
                   "activation_checkpointing": {"kind": "checkpointing", "choices": CHECKPOINTING}}


def total_steps(training: Any, steps_per_epoch: int | None) -> int | None:
    """Optimizer steps of the run (max_steps, or epochs × steps per epoch); None if not yet known."""
    if training.max_steps is not None:
        return training.max_steps
    if steps_per_epoch is None:
        return None
    return max(1, math.ceil(steps_per_epoch * training.epochs))


def preview_steps(total: int, points: int = MAX_POINTS) -> list[int]:
    """Every step of a short run; evenly spread steps (first and last included) of a long one."""
    if total <= points:
        return list(range(total))
    return sorted(set(np.linspace(0, total - 1, points).round().astype(int).tolist()))


def task_rate(info: dict[str, Any], task: str | None) -> float:
    """A method's starting rate for the task, from its `studio methods --json` entry."""
    return (info.get("learning_rates") or {}).get(task, info["learning_rate"])


def preview_table(training: Any, n_groups: int, steps_per_epoch: int | None) -> tuple[list[int], list[list[float]]]:
    """(steps, lrs[step][group]) for the preview: schedules.group_learning_rates at each shown step."""
    total = total_steps(training, steps_per_epoch)
    if total is None:
        raise ValueError("the number of steps per epoch is not known yet (the data is still being checked)")
    spec = schedule_spec(training)
    steps = preview_steps(total)
    return steps, [group_learning_rates(s, total, training.learning_rate, n_groups, **spec,
                                        steps_per_epoch=steps_per_epoch) for s in steps]


class TrainingStep(QWidget):
    """TrainingSpec and UlmfitSpec forms; the LR plot has one curve per layer group of the chosen method."""

    title = "Training"
    changed = Signal()

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.lr_edited = False
        self._lr_method: str | None = None
        self._lr_task: str | None = None  # the rate depends on the task too (studio/methods/rates.py)
        self.form = Form(specs_from_dataclass(TrainingSpec, TRAINING_FIELDS, TRAINING_OVERRIDES))
        self.lr_find = LrFindPanel(state)
        self._put_beside("learning_rate", self.lr_find.find_button)
        self.ulmfit = Form(specs_from_dataclass(UlmfitSpec))
        self.speed = Form(specs_from_dataclass(TrainingSpec, SPEED_FIELDS, SPEED_OVERRIDES))
        speed_box = QGroupBox("Speed and memory (packing, activation checkpointing, fused kernels)")
        speed_box.setToolTip("Chosen for this machine when the run starts; the worker log says what was "
                             "chosen and why")
        QVBoxLayout(speed_box).addWidget(self.speed)
        ulmfit_box = QGroupBox("ULMFiT (discriminative rates, gradual unfreezing, slanted triangular LR)")
        ulmfit_box.setToolTip(UlmfitSpec.__doc__ or "")
        QVBoxLayout(ulmfit_box).addWidget(self.ulmfit)
        self.distributed = DistributedPanel(state)  # training.distributed: GPUs, processes, DDP/FSDP
        fields = QWidget()
        column = QVBoxLayout(fields)
        self.preference = PreferenceSettings()  # shown for task: preference only
        self.preference.hide()
        column.addWidget(self.preference)
        column.addWidget(self.form)
        column.addWidget(speed_box)
        column.addWidget(self.distributed)
        column.addWidget(ulmfit_box)
        column.addStretch(1)
        scroll = FitWidthScrollArea()  # as wide as its fields: no sideways scrolling, no cut combo boxes
        scroll.setWidget(fields)
        # The preview plot is built when the step is first shown: a PlotWidget costs ~60 ms and the
        # wizard is built while the window idles, where one long build is a stall the user feels.
        self.plot: Any = None
        self.plot_slot = QVBoxLayout()
        self.curves: list[Any] = []
        self.curve_names: list[str] = []
        self.curve_labels: list[str] = []  # legend names: a group the ULMFiT guards warn about has a ⚠
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.ulmfit_warning = QLabel()  # ULMFiT settings that leave groups unlearned (core/ulmfit_guards.py)
        self.ulmfit_warning.setWordWrap(True)
        self.ulmfit_warning.setTextFormat(Qt.TextFormat.PlainText)
        self.ulmfit_warning.setStyleSheet("color:#b9770e;")
        self.ulmfit_warning.hide()
        self.marked_groups: set[str] = set()  # drawn dashed in the preview
        right = QVBoxLayout()
        right.addLayout(self.plot_slot, 1)
        right.addWidget(self.note)
        right.addWidget(self.ulmfit_warning)
        right.addWidget(self.lr_find, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(right, 1)
        self.form.edited.connect(self._on_edited)
        self.lr_find.use_rate.connect(self.use_rate)
        self.form.changed.connect(self._apply)
        self.ulmfit.changed.connect(self._apply)
        self.speed.changed.connect(self._apply)
        self.distributed.changed.connect(self._apply)
        self.preference.changed.connect(self._apply)
        state.probed.connect(self._update_plot)
        state.model_changed.connect(self._forget_model_settings)
        state.inspected.connect(self._update_plot)
        self._apply()

    def _forget_model_settings(self) -> None:
        """Another model: ULMFiT's settings were made for the previous one's layer groups; start over."""
        for name, spec in self.ulmfit.specs.items():
            self.ulmfit.set_value(name, spec.get("default"))

    def _on_edited(self, name: str) -> None:
        if name == "learning_rate":
            self.lr_edited = True  # from now on the user's rate, whichever method is chosen

    def _put_beside(self, name: str, widget: QWidget) -> None:
        """Place `widget` to the right of the form's `name` field, in the same row."""
        editor = self.form.editors[name]
        row = QWidget()
        self.form.layout().replaceWidget(editor, row)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(editor, 1)
        box.addWidget(widget)

    def use_rate(self, rate: float) -> None:
        """Set the learning rate field (the range test's suggestion); it counts as the user's choice."""
        self.form.set_value("learning_rate", float(f"{rate:.3g}"))
        self.lr_edited = True
        self._apply()

    def enter(self) -> None:
        """Shown: the chosen method's starting learning rate, unless the user typed one."""
        self._build_plot()
        self._state.find_gpus()  # once, off the GUI thread; the processes box fills in when known
        method = self._state.config["method"].get("name")
        info = self._state.method_info(method)
        task = self._state.config.get("task")
        if not self.lr_edited and info is not None and (method, task) != (self._lr_method, self._lr_task):
            self._lr_method, self._lr_task = method, task
            self.form.set_value("learning_rate", task_rate(info, task))
        self.preference.setVisible(self._preference_task())
        if self._preference_task():
            self.preference.fit_data((self._state.inspect or {}).get("format"))
        self._apply()
        self.lr_find.show_stored()

    def _preference_task(self) -> bool:
        return self._state.config.get("task") == "preference"

    def _apply(self) -> None:
        values = self.form.values()
        self.distributed.set_training(values.get("batch_size") or TrainingSpec.batch_size,
                                      values.get("gradient_accumulation") or TrainingSpec.gradient_accumulation,
                                      values.get("device"))
        # One rank shrinking its micro-batch would desync the group: the retry is single-process only.
        retry = self.speed.editors["oom_retry"]
        retry.setEnabled(self.distributed.process_count() == 1)
        retry.setToolTip(self.speed.specs["oom_retry"].get("doc", "") if retry.isEnabled() else
                         "Several processes: out of memory on a rank fails the run (the retry with a smaller "
                         "micro-batch is for single-process runs only)")
        self._state.config["training"] = {**values, **self.speed.values(), "ulmfit": self.ulmfit.values(),
                                          "distributed": self.distributed.values()}
        if self._preference_task():
            self._state.config["preference"] = self.preference.section()
        else:
            self._state.config.pop("preference", None)  # another task has no preference section
        self._update_plot()
        self.changed.emit()

    def spec(self) -> TrainingSpec:
        """The entered settings as a validated TrainingSpec (ConfigError names training.KEY)."""
        return build_dataclass(TrainingSpec, self._state.config["training"], "training")

    def layer_groups(self) -> list[str] | None:
        """Layer group names of the chosen method on this model, from the probe (None until known)."""
        entry = self._state.probe_of(self._state.config["method"].get("name"))
        if entry is None or "error" in entry:
            return None
        return [g["name"] for g in entry["layer_groups"]]

    def showEvent(self, event: Any) -> None:
        self._build_plot()
        super().showEvent(event)

    def _build_plot(self) -> None:
        """The preview plot, on the step's first entry or show (then drawn at once)."""
        if self.plot is not None:
            return
        self.plot = LegendPlotWidget()  # one entry per layer group, in rows below the curves
        self.plot.setLabel("bottom", "optimizer step")
        self.plot.setLabel("left", "learning rate")
        self.plot.setToolTip("The learning rate of every layer group at every step (0 while a group is frozen)")
        self.plot_slot.addWidget(self.plot)
        self._update_plot()

    def _update_plot(self) -> None:
        if self.error() is not None:
            self.note.setText(self.error() or "")
            return
        names = self.layer_groups()
        note = "" if names else "Layer groups appear once the parameter count has finished; showing one line."
        names = names or ["all trainable"]
        spec = self.spec()
        if spec.learning_rate is None:  # left empty: the run uses the method's recommended rate
            info = self._state.method_info(self._state.config["method"].get("name"))
            if info is None:
                self.note.setText("The run uses the method's recommended learning rate; the preview "
                                  "follows once the methods are listed.")
                return
            spec.learning_rate = task_rate(info, self._state.config.get("task"))
        try:
            steps, table = preview_table(spec, len(names), self._state.steps_per_epoch())
        except ValueError as e:
            self.note.setText(str(e))
            return
        marked = self._check_ulmfit(spec, names if note == "" else [])
        labels = [f"{name} ⚠" if name in marked else name for name in names]
        if self.plot is None:  # not shown yet: showEvent draws it
            return
        if labels != self.curve_labels:
            self.plot.clear()
            self.curves = [self.plot.plot(name=label, pen=pg.mkPen(
                pg.intColor(i, hues=max(len(names), 2)), width=2,
                style=Qt.PenStyle.DashLine if name in marked else Qt.PenStyle.SolidLine))
                for i, (name, label) in enumerate(zip(names, labels))]
            self.curve_names, self.curve_labels = names, labels
        x = np.asarray(steps, dtype=np.float64)
        y = np.asarray(table, dtype=np.float64).reshape(len(steps), len(names))
        for i, curve in enumerate(self.curves):
            curve.setData(x, y[:, i])
        self.note.setText(note or f"{len(names)} layer groups, {int(x[-1]) + 1 if len(x) else 0} steps")

    def _check_ulmfit(self, spec: TrainingSpec, names: list[str]) -> set[str]:
        """Show the ULMFiT warnings for these layer groups; returns the groups to mark."""
        total = total_steps(spec, self._state.steps_per_epoch())
        problems = ulmfit_problems(spec, names, total, self._state.steps_per_epoch()) \
            if names and total and spec.ulmfit.active else []
        self.ulmfit_warning.setText("\n".join(f"⚠ {p.message}" for p in problems))
        self.ulmfit_warning.setVisible(bool(problems))
        self.marked_groups = {g for p in problems for g in p.groups}
        return self.marked_groups

    def error(self) -> str | None:
        """The first invalid field as training.KEY (or training.ulmfit.KEY), else None."""
        problem = (self.form.first_error("training.") or self.speed.first_error("training.")
                   or self.ulmfit.first_error("training.ulmfit.")
                   or (self.preference.error() if self._preference_task() else None))
        if problem:
            return problem
        try:
            self.spec()
        except ConfigError as e:
            return str(e)
        return None
