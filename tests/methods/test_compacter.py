"""Compacter (PHM adapters with a shared rule) on tiny gpt2, llama and bert classifier models."""
from __future__ import annotations

import copy

import pytest
import torch

from studio.config import ConfigError
from studio.methods import get, parse_options
from tests.methods.test_bottleneck import (ARCHS, NORMS_PER_BLOCK, batch, check_names, dims,
                                           head_count, load, logits, roundtrip, task_of, train,
                                           trainable)

RULE = "studio_adapter_rule"


def compacter(folder, arch: str, **options):
    """(model with Compacter applied, its options)."""
    opts = parse_options("compacter", options)
    return get("compacter").apply(load(folder, arch), opts, task_of(arch)), opts


def adapter_formula(d: int, a: int, n: int, rank: int | None) -> int:
    """One Compacter adapter (down d->a and up a->d PHM layers, with biases), rule excluded."""
    weights = 2 * d * a // n if rank is None else 2 * rank * (d + a)
    return weights + a + d


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("rank", [None, 1])
@pytest.mark.parametrize("placement", ["houlsby", "pfeiffer"])
def test_trains_exactly_the_adapters_and_counts_match(tiny_models, arch, rank, placement):
    model, opts = compacter(tiny_models[arch], arch, size=8, n=4, phm_rank=rank, placement=placement)
    d, layers = dims(model)
    norms_on = placement == "houlsby"  # the default follows the placement
    check_names(model, arch, norms_on)
    per_block = (2 if placement == "houlsby" else 1) * adapter_formula(d, 8, 4, rank)
    norms = NORMS_PER_BLOCK[arch] * d if norms_on else 0
    expected = 4 ** 3 + layers * (per_block + norms) + head_count(model, arch)
    assert sum(trainable(model).values()) == expected
    rules = [n for n in trainable(model) if RULE in n]
    assert len(rules) == 1 and trainable(model)[rules[0]] == 4 ** 3  # one set of A_i for the model


@pytest.mark.parametrize("arch", ARCHS)
def test_about_one_nth_of_a_bottleneck_adapter(tiny_models, arch):
    n, a = 4, 16
    counts = {}
    for name, extra in (("houlsby", {}), ("compacter", {"n": n})):
        opts = parse_options(name, {"size": a, "train_layer_norms": False, **extra})
        model = get(name).apply(load(tiny_models[arch], arch), opts, task_of(arch))
        counts[name] = sum(v for k, v in trainable(model).items() if "studio_adapter" in k and RULE not in k)
    # Weights shrink exactly n-fold; the a + d biases per adapter stay, hence the margin.
    assert counts["houlsby"] / n < counts["compacter"] < 1.2 * counts["houlsby"] / n
    model, _ = compacter(tiny_models[arch], arch, size=a, n=n, phm_rank=1, train_layer_norms=False)
    low_rank = sum(v for k, v in trainable(model).items() if RULE not in k) - head_count(model, arch)
    assert low_rank < counts["compacter"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("rank", [None, 1])
def test_starts_at_base_learns_and_round_trips(tiny_models, arch, rank, tmp_path):
    base = load(tiny_models[arch], arch)
    data = batch(base, arch)
    expected = logits(base, data)
    placement = "pfeiffer" if rank else "houlsby"
    model, opts = compacter(tiny_models[arch], arch, size=8, phm_rank=rank, placement=placement)
    assert torch.allclose(logits(model, data), expected, atol=1e-6)
    before, after = train(model, arch)
    assert after < before - 0.03, (before, after)
    roundtrip(model, tiny_models[arch], arch, "compacter", opts, tmp_path)


def test_phm_weight_is_the_sum_of_kronecker_products(tiny_models):
    model, _ = compacter(tiny_models["gpt2"], "gpt2", size=8, n=4)
    layer = model.transformer.h[1].mlp.c_proj.studio_adapter.down
    torch.nn.init.normal_(layer.b)
    rule = model.transformer.studio_adapter_rule.weight
    expected = sum(torch.kron(rule[i], layer.b[i]) for i in range(4))
    assert torch.allclose(layer.weight(), expected)
    assert layer._rule[0] is model.transformer.studio_adapter_rule  # shared, not copied


def test_rule_is_shared_after_deepcopy_and_not_duplicated_in_state_dict(tiny_models):
    model, _ = compacter(tiny_models["llama"], "llama", size=8)
    twin = copy.deepcopy(model)
    rule = twin.model.studio_adapter_rule
    assert twin.model.layers[0].mlp.down_proj.studio_adapter.up._rule[0] is rule
    assert sum(RULE in k for k in twin.state_dict()) == 1
    with torch.no_grad():
        rule.weight.mul_(2)
        twin.model.layers[0].mlp.down_proj.studio_adapter.up.b.normal_()
    data = batch(model, "llama")
    assert not torch.allclose(logits(twin, data), logits(model, data))


def test_works_on_meta(tiny_models):
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(tiny_models["gpt2"]))
    meta = get("compacter").apply(meta, parse_options("compacter", {"phm_rank": 1}), "causal-lm")
    assert all(p.device.type == "meta" for p in meta.parameters())
    d, layers = dims(meta)
    assert sum(trainable(meta).values()) == 64 + layers * (2 * adapter_formula(d, 64, 4, 1) + 4 * d)


def test_bad_options_name_the_option(tiny_models):
    with pytest.raises(ConfigError, match=r"method\.n.*n=5.*d=32.*size=8"):
        compacter(tiny_models["gpt2"], "gpt2", size=8, n=5)
    with pytest.raises(ConfigError, match=r"method\.n.*n=4.*d=32.*size=6"):
        compacter(tiny_models["bert"], "bert", size=6, n=4)
    with pytest.raises(ConfigError, match=r"method\.size"):
        parse_options("compacter", {"size": 0})
    with pytest.raises(ConfigError, match=r"method\.phm_rank"):
        parse_options("compacter", {"phm_rank": 0})
    with pytest.raises(ConfigError, match=r"method\.placement"):
        parse_options("compacter", {"placement": "parallel"})
    with pytest.raises(ConfigError, match="size"):
        get("compacter").options(size=0)


def test_bad_n_leaves_the_model_untouched(tiny_models):
    model = load(tiny_models["gpt2"], "gpt2")
    with pytest.raises(ConfigError):
        get("compacter").apply(model, parse_options("compacter", {"n": 3}), "causal-lm")
    assert all(p.requires_grad for p in model.parameters())
    assert not any("studio_adapter" in n for n, _ in model.named_modules())


def test_description_states_the_formula():
    text = get("compacter").describe()
    assert "2·d·a/n + a + d" in text and "2·r·(d + a) + a + d" in text and "n³" in text
    assert not get("compacter").mergeable
