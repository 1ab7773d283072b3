"""The Training step's processes box (training.distributed): the GPUs found, the processes and strategy
choices, the live effective batch, Load config… and the Review step; the per-GPU memory estimate."""
from __future__ import annotations

import pytest

from studio.config import RunConfig
from studio.modelinfo import gpus as gpus_module
from studio.modelinfo.memory import format_memory
from studio.ui.pages.wizard import WizardPage
from studio.ui.pages.wizard.distributed_panel import FSDP_CPU_REASON
from studio.ui.pages.wizard.memory_panel import MemoryPanel, review_estimate
from studio.ui.pages.wizard.state import WizardState
from tests.modelinfo.test_sharded_memory import llama_7b
from tests.ui.test_review_memory import methods_json
from tests.ui.wizard_fakes import fake_cli  # noqa: F401 (fake_cli: a fixture)

GIB = 2**30
FOUR = [{"index": i, "name": "NVIDIA A100-SXM4-80GB", "memory_total_bytes": 80 * GIB} for i in range(4)]


@pytest.fixture
def page(qtbot, home, fake_cli):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    return page


def shown(page, qtbot):
    """The Training step entered on a machine whose NVML lists `gpus`."""
    step = page.training_step
    with qtbot.waitSignal(page.state.gpus_found, timeout=5000):
        step.enter()
    return step.distributed


def items(box) -> list[str]:
    return [box.itemText(i) for i in range(box.count())]


def test_cpu_machine_choices_effective_batch_load_and_review(qtbot, page, monkeypatch, tmp_path):
    monkeypatch.setattr(gpus_module, "list_gpus", lambda: [])
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    box = shown(page, qtbot)
    assert box.gpus_label.text() == "No GPU found: training runs on the CPU"
    assert items(box.processes) == ["1", "2 CPU processes (gloo, to try it)", "auto (every GPU: none here, so 1)"]
    fsdp = box.strategy.model().item(box.strategy.findData("fsdp"))
    assert not fsdp.isEnabled() and fsdp.toolTip() == FSDP_CPU_REASON
    assert not box.strategy.isEnabled()  # one process: nothing to choose
    training = page.state.config["training"]
    assert training["distributed"] == {"processes": 1, "strategy": "ddp"}
    assert box.effective.text() == "8 × 1 × 1 = 8 examples per optimizer step"

    retry = page.training_step.speed.editors["oom_retry"]
    assert retry.isEnabled()
    box.processes.setCurrentIndex(1)
    assert page.state.config["training"]["distributed"]["processes"] == 2 and box.strategy.isEnabled()
    assert not retry.isEnabled() and "single-process runs only" in retry.toolTip()  # a rank cannot retry alone
    form = page.training_step.form
    form.editors["batch_size"].setText("4")  # typed: the effective batch follows at once
    form.editors["gradient_accumulation"].setText("3")
    assert box.effective.text() == "4 × 3 × 2 = 24 examples per optimizer step"
    assert RunConfig.from_dict(page.state.config | {"name": "x", "model": "m", "data": {"train": "t"}}) \
        .training.distributed.processes == 2

    # Load config… fills the box; keys it does not edit (stall_timeout_s) stay in the config.
    (tmp_path / "t.jsonl").write_text('{"text": "hi"}\n')
    path = tmp_path / "run.yaml"
    path.write_text("name: two\nmodel: sample:smollm2\ntask: causal-lm\ndata: {train: t.jsonl}\n"
                    "training: {batch_size: 2, distributed: {processes: 8, strategy: ddp, stall_timeout_s: 30}}\n")
    assert page.load_config(str(path))
    assert box.processes.currentText() == "8 (more than this machine has)"
    distributed = page.state.config["training"]["distributed"]
    assert distributed == {"processes": 8, "strategy": "ddp", "stall_timeout_s": 30.0}
    box.processes.setCurrentIndex(box.processes.findData(2))
    page.review_step.enter()
    assert page.review_step.processes.text() == ("Training: 2 processes (DDP) · effective batch 2 × 1 × 2 = 4 "
                                                 "examples per optimizer step")
    assert "stall_timeout_s: 30.0" in page.review_step.yaml_view.toPlainText()

    box.strategy.setCurrentIndex(box.strategy.findData("fsdp"))  # as a loaded file may ask for it
    assert box.note.isVisibleTo(box) and box.note.text() == FSDP_CPU_REASON


def test_four_gpus_auto_and_fsdp(qtbot, page, monkeypatch):
    monkeypatch.setattr(gpus_module, "list_gpus", lambda: FOUR)
    box = shown(page, qtbot)
    assert box.gpus_label.text() == "4 × NVIDIA A100-SXM4-80GB (80.00 GiB each)"
    assert items(box.processes) == ["1 GPU", "2 GPUs", "3 GPUs", "4 GPUs", "auto (every GPU: 4)"]
    assert box.strategy.model().item(box.strategy.findData("fsdp")).isEnabled()
    box.processes.setCurrentIndex(box.processes.findData("auto"))
    box.strategy.setCurrentIndex(box.strategy.findData("fsdp"))
    assert page.state.config["training"]["distributed"] == {"processes": "auto", "strategy": "fsdp"}
    assert box.effective.text() == "8 × 1 × 4 = 32 examples per optimizer step" and not box.note.isVisibleTo(box)
    # device cpu on this machine: CPU processes (gloo), FSDP refused, auto still counts the GPUs.
    page.training_step.form.set_value("device", "cpu")
    assert items(box.processes)[:2] == ["1", "2 CPU processes (gloo, to try it)"]
    assert box.gpus_label.text().endswith("(device cpu: the run trains in CPU processes)")
    assert box.note.isVisibleTo(box) and box.note.text() == FSDP_CPU_REASON
    assert page.state.config["training"]["distributed"]["processes"] == "auto"


def test_review_memory_is_per_gpu_under_fsdp(qtbot, home):
    """A 7B model's facts by hand (no weights read), full fine-tuning sharded over four GPUs."""
    state = WizardState(home)
    state.config = {"name": "r", "task": "causal-lm", "model": "m", "data": {"train": "d.jsonl", "max_length": 64},
                    "method": {"name": "full"}, "training": {"batch_size": 4, "precision": "bf16",
                                                             "distributed": {"processes": "auto", "strategy": "fsdp"}}}
    state.probe = {"facts": llama_7b().to_dict(), "cuda": True, "bf16": True, "methods": []}
    state.methods = methods_json()
    state.gpus = FOUR
    cfg = RunConfig.from_dict(state.config)
    sharded = review_estimate(state, cfg)
    state.config["training"]["distributed"] = {"processes": 1}
    single = review_estimate(state, RunConfig.from_dict(state.config))
    assert sharded["processes"] == 4 and sharded["weights_bytes"] == int(single["weights_bytes"] / 4)
    assert sharded["activation_bytes"] == single["activation_bytes"]
    panel = MemoryPanel(state)
    qtbot.addWidget(panel)
    panel.refresh(cfg)
    text = panel.estimate.text()
    assert text.startswith(f"Memory estimate per GPU ≈ {format_memory(sharded['total_bytes'])} × 4 processes "
                           f"(FSDP) ≈ {format_memory(4 * sharded['total_bytes'])} in all, for a micro-batch of 4 × 64")
    assert "weights/4" in text and "gathered blocks" in text
