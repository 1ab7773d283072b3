"""Every method through the real recipe (run_training): it trains, the adapter folder has PEFT's file
names plus studio.json, loads back to the very model that finished training, and the probe's
count is the run's count. Our own methods checkpoint only their trained tensors and resume exactly."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import TrainerCallback

from studio.config import RunConfig
from studio.core.generate import load_with_adapter
from studio.core.probe import probe
from studio.core.train import NullReporter, run_training
from tests.conftest import write_jsonl
from tests.methods.test_matrix import OPTIONS

TOPICS = ["sports", "food"]


def topic_rows(n: int = 24) -> list[dict]:
    words = {"sports": "match goal team score", "food": "soup bread cake salt"}
    return [{"text": f"{words[TOPICS[i % 2]]} {i}", "label": TOPICS[i % 2]} for i in range(n)]


def config(tmp_path, tiny_models, method: str, **training) -> RunConfig:
    data = write_jsonl(tmp_path / "train.jsonl", topic_rows())
    t = {"max_steps": 3, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 2, "eval_steps": 100,
         "seed": 0, "device": "cpu", **training}
    return RunConfig.from_dict({"name": f"e-{method}", "task": "classification", "model": str(tiny_models["bert"]),
                                "data": {"train": str(data), "max_length": 32},
                                "method": {"name": method, **OPTIONS[method]}, "training": t})


class Capture(TrainerCallback):
    """Keeps the model the Trainer trained."""

    def on_train_begin(self, args, state, control, model=None, **kw):
        self.model = model


class Reporter(NullReporter):
    def __init__(self, *callbacks):
        self.callbacks, self.stop_reason = list(callbacks), None


def logits(model, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


@pytest.mark.parametrize("method", sorted(OPTIONS))
def test_method_trains_saves_and_loads_through_the_recipe(tmp_path, tiny_models, method):
    cfg = config(tmp_path, tiny_models, method)
    capture = Capture()
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(capture),
                       adapter_dir=lambda: tmp_path / "adapter")
    assert out.status == "completed" and out.step == 3
    assert (out.trainable_params, out.total_params) == (
        probe(cfg, TOPICS)["trainable_params"], probe(cfg, TOPICS)["total_params"])
    files = {p.name for p in (tmp_path / "adapter").iterdir()}
    expected = {"config.json", "model.safetensors"} if method == "full" else {
        "adapter_config.json", "adapter_model.safetensors"}
    assert expected | {"studio.json", "tokenizer.json"} <= files, files
    meta = json.loads((tmp_path / "adapter" / "studio.json").read_text())
    assert meta["method"] == method and sorted(meta["id2label"].values()) == sorted(TOPICS)

    reloaded, _ = load_with_adapter(tmp_path / "adapter")
    ids = torch.randint(5, 300, (3, 10), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(logits(reloaded, ids), logits(capture.model, ids), atol=1e-6, rtol=0)


class PauseAt(TrainerCallback):
    def __init__(self, step, reporter):
        self.step, self.reporter = step, reporter

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.step:
            control.should_training_stop = control.should_save = True
            self.reporter.stop_reason = "paused"


@pytest.mark.parametrize("method", ["houlsby", "prefix"])
def test_pause_and_resume_continue_exactly(tmp_path, tiny_models, method):
    # houlsby: our own checkpoint format; prefix: PEFT saves only the computed prefix, not its MLP.
    from safetensors.torch import load_file

    cfg = config(tmp_path, tiny_models, method, max_steps=5, save_steps=100)
    straight = Capture()
    run_training(cfg, tmp_path / "straight", tmp_path / "models", reporter=Reporter(straight))

    first = Reporter()
    first.callbacks.append(PauseAt(2, first))
    assert run_training(cfg, tmp_path / "paused", tmp_path / "models", reporter=first).status == "paused"
    checkpoint = tmp_path / "paused" / "checkpoints" / "checkpoint-2"
    assert not (checkpoint / "model.safetensors").exists()  # no copy of the frozen base
    if method == "houlsby":
        saved = load_file(str(checkpoint / "adapter_model.safetensors"))
        assert saved and all("studio_adapter" in n or "LayerNorm" in n or n.startswith("classifier") for n in saved)

    resumed = Capture()
    out = run_training(cfg, tmp_path / "paused", tmp_path / "models", reporter=Reporter(resumed), resume=True)
    assert out.status == "completed" and out.step == 5
    a, b = dict(straight.model.named_parameters()), dict(resumed.model.named_parameters())
    for name in a:
        assert torch.equal(a[name], b[name]), name
