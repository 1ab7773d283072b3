"""Prefix tuning's defaults follow the task: a classifier trains its prefix directly (P-tuning v2), so
one optimizer step moves the prefix a little; through the MLP at 1e-3 one step moved it by a third of
its size, and MiniLM stayed at chance on the rankings sample (methods/prefix_defaults.py)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from studio import methods  # noqa: E402
from studio.config import DataSpec, MethodSpec, RunConfig  # noqa: E402
from studio.core.models import load_model  # noqa: E402
from studio.methods.registry import option_specs  # noqa: E402
from studio.modelinfo.facts import facts_for  # noqa: E402
from studio.modelinfo.memory import estimate  # noqa: E402

LABELS = ["neg", "pos"]


def _prefix_model(tiny_models, options: dict):
    model = load_model(str(tiny_models["bert"]), "classification", label_names=LABELS)
    return methods.get("prefix").apply(model, methods.parse_options("prefix", options), "classification")


def _computed_prefix(model):
    """Every layer's prefix keys and values as the model attends to them (through the MLP if any)."""
    n = model.peft_config["default"].num_virtual_tokens
    encoder = model.prompt_encoder["default"]
    with torch.no_grad():
        return encoder(model.prompt_tokens["default"][:n].unsqueeze(0)).clone()


def _relative_step(model, lr: float) -> float:
    """RMS change of the computed prefix after one AdamW step (the Trainer's optimizer), over its RMS."""
    before = _computed_prefix(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    ids = torch.randint(5, 300, (4, 12), generator=torch.Generator().manual_seed(0))
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([0, 1, 0, 1]))
    out.loss.backward()
    optimizer.step()
    after = _computed_prefix(model)
    return float((after - before).pow(2).mean().sqrt() / before.pow(2).mean().sqrt())


def test_a_classifier_trains_its_prefix_directly_and_one_step_moves_it_a_little(tiny_models):
    cfg = RunConfig(name="p", task="classification", model=str(tiny_models["bert"]),
                    data=DataSpec(train="unused.jsonl"), method=MethodSpec("prefix", {}))
    model = _prefix_model(tiny_models, cfg.method.options)
    config = model.peft_config["default"]
    assert (config.prefix_projection, config.num_virtual_tokens) == (False, 20)  # P-tuning v2
    assert _relative_step(model, cfg.training.learning_rate) < 0.05
    # What the defaults were: through the MLP at 1e-3 one step re-draws a third of the prefix
    # (each prefix element sums ~lr·|tanh| over the MLP's 512 hidden units), so nothing accumulates.
    old = _prefix_model(tiny_models, {"num_virtual_tokens": 10, "prefix_projection": True})
    assert _relative_step(old, 1e-3) > 0.15


def test_generation_keeps_the_papers_mlp_and_ten_tokens(tiny_models):
    model = load_model(str(tiny_models["gpt2"]), "causal-lm")
    model = methods.get("prefix").apply(model, methods.parse_options("prefix", {}), "causal-lm")
    config = model.peft_config["default"]
    assert (config.prefix_projection, config.num_virtual_tokens) == (True, 10)


def test_the_memory_estimate_counts_what_the_defaults_train(tiny_models):
    """The window passes the options' empty defaults; the estimate resolves them by task as apply does."""
    defaults = {s["name"]: s["default"] for s in option_specs("prefix")}
    counts = {}
    for arch, task in (("bert", "classification"), ("gpt2", "causal-lm")):
        facts = facts_for(tiny_models[arch])
        counts[task] = estimate(facts, "prefix", 1, 16, "fp32", defaults, task)["formula"]
    assert "n = 20" in counts["classification"] and "MLP" not in counts["classification"]
    assert "n = 10" in counts["causal-lm"] and "MLP" in counts["causal-lm"]
