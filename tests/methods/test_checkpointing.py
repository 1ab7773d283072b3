"""Activation checkpointing with every method: the same loss and gradients as without it, and the
blocks really recomputed (each checkpointed block runs its forward again in the backward pass)."""
from __future__ import annotations

import copy

import pytest
import torch
from transformers import TrainerCallback

from studio import methods
from studio.config import RunConfig, TrainingSpec
from studio.core.input_grads import drop_input_grads
from studio.core.prefix_checkpointing import keep_prefix_under_checkpointing
from studio.core.speed import checkpointing_arguments
from studio.core.train import NullReporter, run_training
from tests.conftest import instruction_rows, write_jsonl
from tests.methods.test_matrix import OPTIONS, base_model, batch, task_of

# Every method on the tiny Llama and the BERT classifier; BitFit (Llama has no biases) and prefix
# (GPT-2 drops a cache itself when checkpointing) also on GPT-2.
CASES = [(m, arch) for m in sorted(OPTIONS) for arch in ("llama", "bert")
         if not (m == "bitfit" and arch == "llama")]
CASES += [("bitfit", "gpt2"), ("prefix", "gpt2")]


def applied(tiny_models, method: str, arch: str):
    opts = methods.parse_options(method, {**OPTIONS[method], **({"gradient_checkpointing": False}
                                                                  if method == "qlora" else {})})
    torch.manual_seed(1)
    model = methods.get(method).apply(base_model(tiny_models, arch, method), opts, task_of(arch))
    keep_prefix_under_checkpointing(model)  # what the recipe does for prefix tuning
    return model


def enable(model, setting, drop: bool = True) -> None:
    """Turn checkpointing on as the recipe does: the Trainer from the TrainingArguments kwargs that
    core/speed.py gives, then DropInputGrads when training begins."""
    kwargs, _ = checkpointing_arguments(TrainingSpec(activation_checkpointing=setting), "cpu")
    ck = dict(kwargs["activation_checkpointing_kwargs"])
    every, offload = ck.pop("every_n_layers", 1), ck.pop("offload", False)
    model.activation_checkpointing_enable(activation_checkpointing_kwargs=ck, every_n_layers=every, offload=offload)
    if drop:
        drop_input_grads(model)


def blocks(model) -> list[torch.nn.Module]:
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def step(model, arch: str) -> tuple[float, dict[str, torch.Tensor], list[int]]:
    """One training forward/backward (dropout on, seeded): loss, gradients, forward calls per block's
    first child (counted below the block: its own hooks sit outside the checkpoint)."""
    model.train()
    model.zero_grad(set_to_none=True)
    calls = [0] * len(blocks(model))
    handles = [next(b.children()).register_forward_hook(lambda *a, i=i: calls.__setitem__(i, calls[i] + 1))
               for i, b in enumerate(blocks(model))]
    torch.manual_seed(0)
    out = model(**batch(arch))
    out.loss.backward()
    for h in handles:
        h.remove()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None for g in grads.values()), "a trained parameter got no gradient"
    return float(out.loss.detach()), grads, calls


@pytest.mark.parametrize("method,arch", CASES, ids=[f"{m}-{a}" for m, a in CASES])
def test_checkpointing_gives_the_same_loss_and_gradients(tiny_models, method, arch):
    model = applied(tiny_models, method, arch)
    loss_off, grads_off, calls_off = step(model, arch)
    assert calls_off == [1, 1]
    enable(model, "on")
    assert model.is_activation_checkpointing
    loss_on, grads_on, calls_on = step(model, arch)
    # Every block runs again in the backward pass, except top-K's frozen block below the trained one
    # (nothing there needs a gradient: see core/input_grads.py).
    assert calls_on == ([1, 2] if method == "top_k" else [2, 2])
    assert loss_on == pytest.approx(loss_off, abs=1e-5)
    assert grads_on.keys() == grads_off.keys()
    for name, g in grads_off.items():
        torch.testing.assert_close(grads_on[name], g, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("method", ["lora", "houlsby", "prefix"])
def test_every_n_recomputes_only_every_nth_block(tiny_models, method):
    model = applied(tiny_models, method, "llama")
    loss_off, grads_off, _ = step(model, "llama")
    enable(model, {"every_n": 2})
    assert [b.gradient_checkpointing for b in blocks(model)] == [True, False]
    loss_on, grads_on, calls = step(model, "llama")
    assert calls == [2, 1]
    assert loss_on == pytest.approx(loss_off, abs=1e-5)
    for name, g in grads_off.items():
        torch.testing.assert_close(grads_on[name], g, atol=1e-5, rtol=1e-4, msg=name)


def test_frozen_blocks_are_neither_recomputed_nor_backpropagated(tiny_models):
    """Why the recipe drops the forced input gradient: with it, top-K's frozen block is recomputed."""
    model = applied(tiny_models, "top_k", "llama")
    enable(model, "on", drop=False)
    assert step(model, "llama")[2] == [2, 2]
    drop_input_grads(model)
    assert step(model, "llama")[2] == [1, 2]


def test_prefix_without_the_guard_loses_its_prefix(tiny_models):
    """Why the recipe guards prefix tuning: a checkpointed BERT block silently drops the prefix."""
    opts = methods.parse_options("prefix", OPTIONS["prefix"])
    model = methods.get("prefix").apply(base_model(tiny_models, "bert", "prefix"), opts, "classification")
    enable(model, "on")
    model.train()
    model(**batch("bert")).loss.backward()
    prefix_grads = [p.grad for n, p in model.named_parameters() if "prompt_encoder" in n and p.requires_grad]
    assert prefix_grads and all(g is None for g in prefix_grads)


class Flags(TrainerCallback):
    """What the Trainer switched on (blocks' flags, the forced input gradient), seen at the first step."""

    def on_step_begin(self, args, state, control, model=None, **kw):
        if state.global_step == 0:
            self.flags = [b.gradient_checkpointing for b in blocks(model)]
            self.input_grad_hooks = len(getattr(model.get_base_model(), "_require_grads_hooks", []))


class Reporter(NullReporter):
    def __init__(self, *callbacks):
        self.callbacks, self.stop_reason = list(callbacks), None


@pytest.mark.parametrize("setting,flags", [("off", [False, False]), ({"every_n": 2}, [True, False])])
def test_the_recipe_checkpoints_as_configured(tmp_path, tiny_models, capfd, setting, flags):
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(8))
    cfg = RunConfig.from_dict({
        "name": "ac", "task": "causal-lm", "model": str(tiny_models["llama"]),
        "data": {"train": str(data), "max_length": 32}, "method": {"name": "prefix", **OPTIONS["prefix"]},
        "training": {"max_steps": 2, "batch_size": 4, "save_steps": 100, "device": "cpu",
                     "activation_checkpointing": copy.deepcopy(setting)}})
    seen = Flags()
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(seen))
    assert out.status == "completed" and out.step == 2
    assert seen.flags == flags
    assert seen.input_grad_hooks == 0
    log = capfd.readouterr().err
    assert ("activation checkpointing: every 2th block" if flags[0] else "activation checkpointing: off") in log
    assert "kernels: none" in log
