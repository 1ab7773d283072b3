"""The Training step's "Find" button (a faked `studio lr-find` child: progress, then the result), the
stored result shown again for the same config, "Use this rate", and the ULMFiT warnings with the
affected groups marked in the LR preview."""
from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.config import RunConfig, load_config
from studio.core.lr_range import config_hash, sweep_rate
from studio.store import open_db
from studio.store.lr_finds import add_lr_find
from studio.ui import cli_call
from studio.ui.pages.wizard.state import WizardState
from studio.ui.pages.wizard.training_step import TrainingStep

LRS = [sweep_rate(i, 20, 1e-7, 1.0) for i in range(20)]
RESULT = {"steps": 20, "steps_run": 20, "stopped": "diverged", "lrs": LRS,
          "losses": [2.0 - 0.05 * i for i in range(20)], "smoothed": [2.0 - 0.04 * i for i in range(20)],
          "steepest": 3e-3, "min_loss": 0.5, "min_loss_div10": 0.05, "suggested": 3e-3, "rule": "steepest",
          "reason": "the smoothed loss falls fastest at this rate", "layer_groups": []}


class FakeLrFind(QObject):
    """CliCall's stand-in: two progress lines from the event loop; `answer` once the test calls finish()."""

    finished = Signal(object, object)
    progress = Signal(object)
    calls: list[list[str]] = []
    answer: tuple = (RESULT, None)

    def __init__(self, home, args, timeout_s=120.0, parent=None):
        super().__init__(parent)
        self.args, self._done = list(args), False

    def start(self):
        FakeLrFind.calls.append(self.args)
        FakeLrFind.last = self
        for i, delay in ((1, 0), (2, 1)):
            QTimer.singleShot(delay, lambda i=i: self.progress.emit(
                {"stage": "sweeping the learning rate", "fraction": i / 20, "lr": LRS[i], "loss": 2.0}))
        return self

    def finish(self):
        if not self._done:
            self._done = True
            self.finished.emit(*self.answer)

    def cancel(self):
        self._done = True

    @property
    def running(self):
        return not self._done


@pytest.fixture
def step(qtbot, home, monkeypatch):
    FakeLrFind.calls, FakeLrFind.answer = [], (RESULT, None)
    monkeypatch.setattr(cli_call, "CliCall", FakeLrFind)
    state = WizardState(home)
    state.config.update({"name": "w", "model": "sample:minilm", "task": "classification",
                         "data": {"train": "/data/train.jsonl"}})
    widget = TrainingStep(state)
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    return widget


def test_find_runs_the_child_shows_progress_then_the_curve_and_uses_the_rate(step, qtbot):
    panel = step.lr_find
    assert panel.isHidden() and panel.find_button.isVisibleTo(step)
    with qtbot.waitSignal(step._state.lr_find_progress, timeout=5000):
        panel.find_button.click()
    (args,) = FakeLrFind.calls
    assert args[0] == "lr-find" and args[2] == "--json"
    assert load_config(args[1]).model == "sample:minilm"  # the wizard's own config, validated
    assert panel.isVisibleTo(step) and not panel.find_button.isEnabled() and not panel.use_button.isEnabled()
    qtbot.waitUntil(lambda: panel.raw.getData()[0] is not None and len(panel.raw.getData()[0]) == 2,
                    timeout=5000)  # the live points
    assert panel.progress.value() == 100  # 2 of 20 steps
    FakeLrFind.last.finish()
    assert panel.find_button.isEnabled() and panel.use_button.isEnabled()
    text = panel.status.text()
    assert "Steepest descent 3.00e-03" in text and "÷ 10 5.00e-02" in text and "Suggested 3.00e-03" in text
    xs, ys = panel.smoothed.getData()
    assert len(xs) == 20 and ys[0] == pytest.approx(2.0)
    assert panel.plot.getPlotItem().ctrl.logXCheck.isChecked()  # loss against log lr
    assert panel.marker.value() == pytest.approx(math.log10(3e-3)) and panel.marker.isVisible()
    panel.use_button.click()
    assert step.form.value("learning_rate") == pytest.approx(3e-3)
    assert step._state.config["training"]["learning_rate"] == pytest.approx(3e-3) and step.lr_edited


def test_a_failed_find_says_why_and_offers_no_rate(step, qtbot):
    FakeLrFind.answer = (None, "method 'bitfit' cannot be used with model 'x'")
    step.lr_find.find_button.click()
    FakeLrFind.last.finish()
    assert "cannot be used" in step.lr_find.status.text() and not step.lr_find.use_button.isEnabled()


def test_the_last_stored_result_for_this_config_is_shown(step, home):
    key = config_hash(RunConfig.from_dict(step._state.lr_find_config()).to_dict())
    db = open_db(home.db_path)
    add_lr_find(db, key, {**RESULT, "suggested": 7e-4, "rule": "min_loss/10", "config_hash": key})
    db.conn.close()
    step.enter()
    assert step.lr_find.isVisibleTo(step) and step.lr_find.suggested == 7e-4
    assert "Suggested 7.00e-04" in step.lr_find.status.text() and not FakeLrFind.calls
    step.lr_find.use_button.click()
    assert step.form.value("learning_rate") == pytest.approx(7e-4)
    step.form.set_value("batch_size", 2)  # another config: the old result no longer applies
    step.enter()
    assert step.lr_find.isHidden() and step.lr_find.suggested is None


def groups(blocks: int) -> list[dict]:
    names = ["embeddings", *(f"block {i}" for i in range(blocks)), "head"]
    return [{"name": n, "params": 10} for n in names]


def test_ulmfit_warning_shows_and_the_preview_marks_the_groups(step):
    state = step._state
    state.config["method"] = {"name": "lora"}
    state.probe = {"methods": [{"method": "lora", "layer_groups": groups(30)}]}
    state.probed.emit()
    step.form.set_value("learning_rate", 1e-3)
    step.form.set_value("max_steps", 30)
    assert step.ulmfit_warning.isHidden()
    step.ulmfit.set_value("discriminative_decay", 2.6)
    assert step.ulmfit_warning.isVisibleTo(step)
    assert "training.ulmfit.discriminative_decay 2.6 over 32 layer groups" in step.ulmfit_warning.text()
    assert "embeddings" in step.marked_groups and "head" not in step.marked_groups
    assert step.curve_names[0] == "embeddings" and step.curve_labels[0] == "embeddings ⚠"
    assert step.curves[0].opts["name"] == "embeddings ⚠" and step.curves[-1].opts["name"] == "head"
    dashed = [c.opts["pen"].style() == Qt.PenStyle.DashLine for c in step.curves]
    assert dashed[0] and not dashed[-1]

    step.ulmfit.set_value("discriminative_decay", None)
    step.ulmfit.set_value("gradual_unfreezing", True)
    step.ulmfit.set_value("unfreeze_every", 10)  # 3 stages in 30 steps: 3 of 32 groups ever train
    assert "gradual_unfreezing" in step.ulmfit_warning.text() and "only 3 of 32" in step.ulmfit_warning.text()
    assert step.marked_groups == {g["name"] for g in groups(30)[:29]}
    step.ulmfit.set_value("gradual_unfreezing", False)
    assert step.ulmfit_warning.isHidden() and not step.marked_groups


def test_the_log_rate_axis_shows_plain_powers_of_ten(step, qtbot):
    panel = step.lr_find
    panel.find_button.click()
    qtbot.waitUntil(lambda: panel.raw.getData()[0] is not None and len(panel.raw.getData()[0]) == 2,
                    timeout=5000)  # the first live points: rates near 1e-7
    panel.plot.getPlotItem().getViewBox().autoRange()
    axis = panel.plot.getAxis("bottom")
    assert "x1e" not in axis.labelString() and axis.autoSIPrefixScale == 1.0  # not "10² (x1e-09)"
