"""The Training step's speed and memory controls: packing, activation checkpointing (with every N
blocks), kernels and OOM retry; what they write is what `load_config` reads back."""
from __future__ import annotations

import pytest

from studio.config import RunConfig, TrainingSpec, dump_config, field_docs, load_config
from studio.ui.pages.wizard.checkpointing_editor import EVERY_N, CheckpointingEditor
from studio.ui.pages.wizard.state import WizardState
from studio.ui.pages.wizard.training_step import TrainingStep


@pytest.fixture
def step(qtbot, home):
    state = WizardState(home)
    widget = TrainingStep(state)
    qtbot.addWidget(widget)
    return widget


def test_an_empty_learning_rate_waits_for_the_methods_rate(step):
    assert step.form.value("learning_rate") is None and step.error() is None
    assert "recommended learning rate" in step.note.text()


def test_controls_start_at_the_config_defaults_with_the_field_docs_as_tooltips(step):
    assert step.speed.values() == {"packing": "auto", "activation_checkpointing": "off", "kernels": "auto",
                                   "oom_retry": True}
    assert step._state.config["training"]["activation_checkpointing"] == "off"
    docs = field_docs(TrainingSpec)
    for name in ("packing", "activation_checkpointing", "kernels", "oom_retry"):
        assert step.speed.editors[name].toolTip() == docs[name]
        assert name not in step.form.editors  # shown once, in the speed box
    packing = step.speed.editors["packing"]
    assert [packing.itemText(i) for i in range(packing.count())] == ["auto", "on", "off"]
    kernels = step.speed.editors["kernels"]
    assert [kernels.itemText(i) for i in range(kernels.count())] == ["auto", "liger", "none"]


def test_every_n_blocks_uses_the_spin_box(step, qtbot):
    editor = step.speed.editors["activation_checkpointing"]
    assert isinstance(editor, CheckpointingEditor)
    assert [editor.box.itemText(i) for i in range(editor.box.count())] == ["off", "on", "offload", EVERY_N]
    assert not editor.every.isEnabled()
    with qtbot.waitSignal(step.changed):
        editor.box.setCurrentIndex(editor.box.findData(EVERY_N))
    assert editor.every.isEnabled()
    editor.every.setValue(3)
    assert step._state.config["training"]["activation_checkpointing"] == {"every_n": 3}
    assert step.spec().checkpoint_every == 3
    step.speed.set_value("activation_checkpointing", "offload")
    assert not editor.every.isEnabled() and step.spec().activation_checkpointing == "offload"
    step.speed.set_value("activation_checkpointing", {"every_n": 5})
    assert editor.value() == {"every_n": 5} and editor.every.isEnabled()


@pytest.mark.parametrize("packing,checkpointing,kernels,oom_retry", [
    ("on", "on", "none", False),
    ("off", {"every_n": 2}, "liger", True),
    ("auto", "offload", "auto", True),
])
def test_what_the_step_writes_reads_back_equal(step, tmp_path, packing, checkpointing, kernels, oom_retry):
    for name, value in (("packing", packing), ("activation_checkpointing", checkpointing),
                        ("kernels", kernels), ("oom_retry", oom_retry)):
        step.speed.set_value(name, value)
    assert step.error() is None
    config = {**step._state.config, "name": "t", "model": "sample:smollm2",
              "data": {"train": str(tmp_path / "train.jsonl")}}
    cfg = RunConfig.from_dict(config)
    path = tmp_path / "run.yaml"
    dump_config(cfg, path)
    back = load_config(path)
    assert back == cfg
    t = back.training
    assert (t.packing, t.activation_checkpointing, t.kernels, t.oom_retry) == (packing, checkpointing, kernels,
                                                                               oom_retry)
