"""One memory estimate in the product: the Models page and the wizard's Review show the same number in
the same units; Review's Measure button runs `studio probe --measure --json` without blocking the GUI."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, QTimer, Signal

from studio.config import RunConfig
from studio.modelinfo.facts import facts_for
from studio.modelinfo.memory import estimate, format_memory
from studio.modelinfo.scan import ModelEntry
from studio.ui import cli_call
from studio.ui.pages.wizard.memory_panel import MemoryPanel, review_estimate
from studio.ui.pages.wizard.state import WizardState
from studio.ui.widgets.model_detail import MEMORY_COLUMNS, ModelDetail


def methods_json() -> list[dict]:
    """What `studio methods --json` prints (names and options are all the estimate needs)."""
    from studio import methods
    from studio.methods.registry import option_specs

    return [{"name": n, "options": option_specs(n)} for n in methods.names()]


def review_state(home, model, **training) -> WizardState:
    """A wizard state as the Review step finds it: config, probe facts (no CUDA here), methods."""
    state = WizardState(home)
    state.config = {"name": "r", "task": "causal-lm", "model": str(model),
                    "data": {"train": "d.jsonl", "max_length": 64}, "method": {"name": "lora"},
                    "training": {"batch_size": 4, "precision": "fp32", "device": "cpu", **training}}
    state.probe = {"facts": facts_for(model).to_dict(), "cuda": False, "bf16": False, "methods": []}
    state.methods = methods_json()
    return state


def models_page_total(qtbot, model, method: str) -> str:
    detail = ModelDetail()
    qtbot.addWidget(detail)
    detail.set_entry(ModelEntry(str(model), model.name, "folder", str(model), facts_for(model)))
    detail.set_defaults({m["name"]: {o["name"]: o["default"] for o in m["options"]} for m in methods_json()})
    detail.batch.setValue(4)
    detail.seq_len.setValue(64)
    detail.precision.setCurrentText("fp32")
    detail.device.setCurrentText("cpu")
    detail.task.setCurrentText("causal-lm")
    row = next(r for r in range(detail.memory.rowCount()) if detail.memory.item(r, 0).text() == method)
    return detail.memory.item(row, MEMORY_COLUMNS.index("Total")).text()


@pytest.mark.parametrize("method", ["lora", "full"])
def test_models_page_and_review_show_the_same_estimate(qtbot, home, tiny_models, method):
    model = tiny_models["llama"]
    state = review_state(home, model)
    state.config["method"] = {"name": method}
    panel = MemoryPanel(state)
    qtbot.addWidget(panel)
    cfg = RunConfig.from_dict(state.config)
    panel.refresh(cfg)
    est = review_estimate(state, cfg)
    facts = facts_for(model)
    defaults = {o["name"]: o["default"] for m in methods_json() if m["name"] == method for o in m["options"]}
    same = estimate(facts, method, 4, 64, "fp32", defaults, "causal-lm", device="cpu")
    assert est["total_bytes"] == same["total_bytes"] and est["activation_bytes"] > 0
    shown = models_page_total(qtbot, model, method)
    assert shown == format_memory(est["total_bytes"])
    assert f"≈ {shown} for a micro-batch of 4 × 64 tokens" in panel.estimate.text()
    assert "CUDA overhead" not in panel.estimate.text()  # this config trains on the CPU


def test_review_estimate_follows_checkpointing(qtbot, home, tiny_models):
    plain = review_estimate(review_state(home, tiny_models["llama"]),
                            RunConfig.from_dict(review_state(home, tiny_models["llama"]).config))
    state = review_state(home, tiny_models["llama"], activation_checkpointing="on")
    checkpointed = review_estimate(state, RunConfig.from_dict(state.config))
    assert checkpointed["activation_bytes"] < plain["activation_bytes"]


class FakeMeasure(QObject):
    """CliCall's stand-in for `studio probe --measure`: a progress line, then the canned answer,
    each from the event loop as the real child's output arrives."""

    finished = Signal(object, object)
    progress = Signal(object)
    answer: tuple = (None, None)
    made: list["FakeMeasure"] = []
    hold = False  # True: the answer waits for the test's _finish() (no race with a 50 ms timer)

    def __init__(self, home, args, timeout_s=120.0, parent=None):
        super().__init__(parent)
        self.args, self.running = list(args), True
        FakeMeasure.made.append(self)

    def start(self):
        QTimer.singleShot(0, lambda: self.progress.emit({"stage": "loading model", "fraction": 0.1}))
        if not self.hold:
            QTimer.singleShot(50, self._finish)
        return self

    def _finish(self):
        if self.running:
            self.running = False
            self.finished.emit(*self.answer)

    def cancel(self):
        self.running = False


RESULT = {"measured_bytes": 300 * 2**20, "estimate_bytes": 250 * 2**20, "ratio": 1.2, "steps": 3,
          "measured": "RSS growth over the process before the model loaded", "batch_shape": [1, 200],
          "packed": True, "rows": [{"index": 3, "tokens": 120}, {"index": 1, "tokens": 80}], "seconds": 9.0}


@pytest.fixture
def fake_measure(monkeypatch):
    FakeMeasure.made, FakeMeasure.answer, FakeMeasure.hold = [], (RESULT, None), False
    monkeypatch.setattr(cli_call, "CliCall", FakeMeasure)
    return FakeMeasure


def test_measure_shows_progress_then_peak_estimate_and_ratio(qtbot, home, tiny_models, fake_measure):
    panel = MemoryPanel(review_state(home, tiny_models["llama"]))
    qtbot.addWidget(panel)
    fake_measure.hold = True
    panel.measure_button.click()  # returns at once: the child's answer comes through the event loop
    call = fake_measure.made[-1]
    assert call.args[0] == "probe" and call.args[2:] == ["--measure", "--json"]
    assert RunConfig.from_dict(__import__("yaml").safe_load(open(call.args[1]))).training.batch_size == 4
    assert panel.measure_button.text() == "Cancel" and panel.measured.text().startswith("Measuring…")
    qtbot.waitUntil(lambda: "loading model" in panel.measured.text(), timeout=30000)
    call._finish()
    qtbot.waitUntil(lambda: "Measured peak" in panel.measured.text(), timeout=30000)
    text = panel.measured.text()
    assert "Measured peak 300 MiB" in text and "estimate for these rows 250 MiB" in text and "measured / estimate = 1.20" in text
    assert "2 longest rows (packed into 1 × 200 tokens)" in text and panel.measure_button.text() == "Measure"
    panel.refresh(RunConfig.from_dict(panel._state.config), "another: config\n")
    assert panel.measured.text() == ""  # a measurement of another config is not shown as this one's


def test_measure_errors_are_shown_and_cancel_stops_it(qtbot, home, tiny_models, fake_measure):
    panel = MemoryPanel(review_state(home, tiny_models["llama"]))
    qtbot.addWidget(panel)
    fake_measure.answer = (None, "d.yaml: measuring failed: out of memory on cuda with a micro-batch of 8")
    panel.measure_button.click()
    qtbot.waitUntil(lambda: "Measuring failed" in panel.measured.text(), timeout=30000)
    assert "out of memory" in panel.measured.text() and "c0392b" in panel.measured.styleSheet()
    panel.measure_button.click()
    panel.measure_button.click()  # Cancel
    assert not fake_measure.made[-1].running and panel.measured.text() == "Measuring cancelled."
    assert panel.measure_button.text() == "Measure"
