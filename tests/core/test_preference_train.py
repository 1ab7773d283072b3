"""Preference tuning through the studio's recipe (core/train.py run_training), in this process, on a
tiny model: each loss trains and logs TRL's reward metrics; every method trains under DPO."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from studio import methods
from studio.config import ConfigError, RunConfig
from studio.core.train import NullReporter, run_training
from tests.conftest import write_jsonl


@pytest.fixture(autouse=True)
def _one_thread(one_thread_seeded):
    yield


def pairs(n: int = 24) -> list[dict]:
    """Short factual answers preferred over evasive ones."""
    return [{"prompt": f"Question: what is {i} + {i}?", "chosen": f" Answer: {2 * i}.",
             "rejected": " I do not know, maybe ask someone else."} for i in range(n)]


def config(tmp_path: Path, model: Path, method: str = "lora", preference: dict | None = None,
           **training) -> RunConfig:
    data = write_jsonl(tmp_path / "pairs.jsonl", pairs())
    return RunConfig.from_dict({
        "name": "pref", "task": "preference", "model": str(model),
        "data": {"train": str(data), "max_length": 48, "val_fraction": 0.25},
        "method": {"name": method}, "preference": preference or {},
        "training": {"max_steps": 6, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 3,
                     "eval_steps": 6, "seed": 0, **training}})


class Logs(NullReporter):
    """A reporter keeping every Trainer log, as the worker's recorder hears them."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        self.logs: list[dict] = []
        kept = self.logs

        class Keep(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                kept.append(dict(logs or {}))

        self.callbacks = [Keep()]

    def names(self) -> set[str]:
        return {k for entry in self.logs for k in entry}


LOSSES = [
    ({"loss": "dpo"}, "rewards/margins"),
    ({"loss": "dpo", "dpo_loss_type": "ipo", "ftx": 0.5}, "rewards/margins"),
    ({"loss": "kto"}, "rewards/margins"),
    ({"loss": "orpo"}, "rewards/margins"),
]


@pytest.mark.parametrize("preference,margin", LOSSES, ids=["dpo-sigmoid", "dpo-ipo-ftx", "kto", "orpo"])
def test_each_loss_trains_logs_reward_metrics_and_saves_a_causal_lm_adapter(tmp_path, tiny_models,
                                                                             preference, margin):
    cfg = config(tmp_path, tiny_models["gpt2"], preference=preference)
    logs = Logs()
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=logs,
                       adapter_dir=lambda: tmp_path / "adapter")
    assert out.status == "completed" and out.step == 6
    train_names = logs.names()
    assert {"loss", "rewards/chosen", "rewards/rejected", margin} <= train_names
    assert {"eval_loss", "eval_rewards/chosen", "eval_rewards/rejected", f"eval_{margin}"} <= train_names
    if preference["loss"] != "kto":  # KTO's answers are single, so it has no pair accuracy
        assert {"rewards/accuracies", "eval_rewards/accuracies"} <= train_names
    assert all(math.isfinite(v) for e in logs.logs for v in e.values() if isinstance(v, float))
    # The margin grows: the chosen answers gain on the rejected ones over the base
    assert out.final_metrics[f"eval_{margin}"] > out.first_metrics[f"eval_{margin}"]
    meta = json.loads((tmp_path / "adapter" / "studio.json").read_text())
    assert meta["task"] == "causal-lm" and meta["objective"] == "preference"
    assert not (tmp_path / "adapter" / "ref").exists()  # no copy of the adapter as a reference (TRL's default)
    assert meta["training"]["preference"]["loss"] == preference["loss"]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["checkpoint-3", "checkpoint-6"]


def test_dpo_starts_at_the_base_so_its_first_rewards_are_zero(tmp_path, tiny_models):
    """Reference = base with the adapter off: before any step, LoRA (B = 0) is the base exactly."""
    cfg = config(tmp_path, tiny_models["gpt2"], max_steps=1)
    logs = Logs()
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=logs)
    assert out.first_metrics["eval_rewards/chosen"] == 0.0 and out.first_metrics["eval_rewards/margins"] == 0.0


@pytest.mark.parametrize("method", methods.names())
def test_every_method_trains_under_dpo(tmp_path, tiny_models, method):
    cfg = config(tmp_path, tiny_models["gpt2"], method=method, max_steps=2, batch_size=2, save_steps=100,
                 eval_steps=100)
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=NullReporter(),
                       adapter_dir=lambda: tmp_path / "adapter")
    assert out.status == "completed" and out.step == 2 and 0 < out.trainable_params <= out.total_params
    assert (tmp_path / "adapter" / "studio.json").is_file()


def test_a_classifier_is_refused_naming_the_model(tmp_path, tiny_models):
    cfg = config(tmp_path, tiny_models["bert"])
    with pytest.raises(ConfigError, match="causal language model") as err:
        run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=NullReporter())
    assert err.value.path == "model"


def test_a_classifier_is_refused_before_a_run_is_recorded(tmp_path, tiny_models):
    from studio.core.config_check import SubmitError, load_and_check

    with pytest.raises(SubmitError, match=r"config: model: preference tuning needs a causal language model"):
        load_and_check(config(tmp_path, tiny_models["bert"]))
    load_and_check(config(tmp_path, tiny_models["gpt2"]))  # a causal LM passes


def test_kto_needs_two_answers_per_batch(tmp_path, tiny_models):
    with pytest.raises(ConfigError, match="KL") as err:
        config(tmp_path, tiny_models["gpt2"], preference={"loss": "kto"}, batch_size=1)
    assert err.value.path == "training.batch_size"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (bf16 autocast, device placement)")
@pytest.mark.parametrize("method,loss", [("lora", "dpo"), ("houlsby", "dpo"), ("top_k", "kto"), ("full", "dpo")])
def test_preference_trains_on_cuda_in_bf16(tmp_path, tiny_models, method, loss):
    """The reference under accelerate's autocast and device move: TRL prepares it like a model."""
    cfg = config(tmp_path, tiny_models["gpt2"], method=method, preference={"loss": loss}, max_steps=2,
                 device="cuda", precision="bf16")
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=NullReporter())
    assert out.status == "completed" and out.step == 2
    assert math.isfinite(out.final_metrics["eval_rewards/margins"])


def test_lr_find_sweeps_the_preference_loss_and_leaves_the_model_untouched(tmp_path, tiny_models):
    from studio.core.lr_find import lr_find

    cfg = config(tmp_path, tiny_models["gpt2"], preference={"loss": "dpo"})
    points: list[tuple[int, float, float]] = []
    result = lr_find(cfg, tmp_path / "models", steps=8, start=1e-5, end=1e-1,
                     on_point=lambda *p: points.append(p))
    assert result["task"] == "preference" and result["steps_run"] >= 4
    # the DPO loss starts at ln 2 (the policy equals its reference), so the sweep measured that loss
    assert abs(result["losses"][0] - math.log(2)) < 1e-3
    assert [p[1] for p in points] == sorted(p[1] for p in points)  # the rate rose every step
