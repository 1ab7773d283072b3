"""Houlsby and Pfeiffer bottleneck adapters on tiny gpt2, llama and bert classifier models."""
from __future__ import annotations

import copy

import pytest
import torch

from studio.config import ConfigError
from studio.methods import get, parse_options
from studio.methods.saving import load_method_weights, save_method_weights

ARCHS = ("gpt2", "llama", "bert")
# Parameters of the norms inside one block, in units of d: two LayerNorms (weight + bias) for
# gpt2 and bert, two RMSNorms (weight only) for llama.
NORMS_PER_BLOCK = {"gpt2": 4, "llama": 2, "bert": 4}
NORM_MARKERS = ("ln_", "norm", "LayerNorm")


def task_of(arch: str) -> str:
    return "classification" if arch == "bert" else "causal-lm"


def load(folder, arch: str):
    """A fresh base model from a tiny folder, in eval mode (dropout off)."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    cls = AutoModelForSequenceClassification if arch == "bert" else AutoModelForCausalLM
    return cls.from_pretrained(folder).eval()


def batch(model, arch: str) -> dict:
    """A fixed batch: causal LMs predict their own tokens, the classifier two class ids."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, model.config.vocab_size, (4, 12), generator=g)
    labels = torch.tensor([0, 1, 1, 0]) if arch == "bert" else ids
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def logits(model, data: dict) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=data["input_ids"], attention_mask=data["attention_mask"]).logits


def trainable(model) -> dict[str, int]:
    return {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}


def dims(model) -> tuple[int, int]:
    """(d, L) from the config."""
    return model.config.hidden_size, model.config.num_hidden_layers


def head_count(model, arch: str) -> int:
    """The bert classifier's weight + bias; causal LMs train no head."""
    d, _ = dims(model)
    return model.config.num_labels * (d + 1) if arch == "bert" else 0


def check_names(model, arch: str, norms: bool, extra: tuple[str, ...] = ()) -> None:
    """Every trainable name is an adapter, a block norm (when enabled) or the bert classifier."""
    for name in trainable(model):
        ok = "studio_adapter" in name or any(name.startswith(e) for e in extra)
        ok = ok or (norms and any(m in name for m in NORM_MARKERS) and ".embeddings." not in name)
        ok = ok or (arch == "bert" and name.startswith("classifier."))
        assert ok, f"{name} should not train"
    assert not any("classifier" in n for n in trainable(model)) or arch == "bert"


def train(model, arch: str, steps: int = 20) -> tuple[float, float]:
    """(loss before, loss after) `steps` AdamW steps on one fixed batch; every trainable gets a gradient."""
    data = batch(model, arch)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    with torch.no_grad():
        before = model(**data).loss.item()
    for _ in range(steps):
        loss = model(**data).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    dead = [n for n, p in model.named_parameters() if p.requires_grad and not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead}"
    with torch.no_grad():
        return before, model(**data).loss.item()


def roundtrip(model, folder, arch: str, name: str, opts, tmp_path) -> None:
    """Save what the method trained, apply it to a fresh base, and get the same outputs."""
    data = batch(model, arch)
    save_method_weights(model, tmp_path / "adapter", name, opts)
    reloaded = load_method_weights(load(folder, arch), tmp_path / "adapter").eval()
    assert torch.allclose(logits(model.eval(), data), logits(reloaded, data), atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", ["houlsby", "pfeiffer"])
def test_trains_exactly_the_adapters_and_counts_match(tiny_models, arch, name):
    model = load(tiny_models[arch], arch)
    opts = parse_options(name, {"size": 8})
    model = get(name).apply(model, opts, task_of(arch))
    d, layers = dims(model)
    a = opts.size
    per_block = (2 if name == "houlsby" else 1) * (2 * d * a + a + d)
    norms_on = name == "houlsby" or task_of(arch) == "classification"
    norms = NORMS_PER_BLOCK[arch] * d if norms_on else 0
    check_names(model, arch, norms_on)
    # Houlsby trains the norms; Pfeiffer's empty option means: for a classifier only.
    assert opts.train_layer_norms is (True if name == "houlsby" else None)
    assert sum(trainable(model).values()) == layers * (per_block + norms) + head_count(model, arch)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", ["houlsby", "pfeiffer"])
def test_starts_at_base_learns_and_round_trips(tiny_models, arch, name, tmp_path):
    base = load(tiny_models[arch], arch)
    data = batch(base, arch)
    expected = logits(base, data)
    opts = parse_options(name, {"size": 8})
    model = get(name).apply(load(tiny_models[arch], arch), opts, task_of(arch))
    assert torch.allclose(logits(model, data), expected, atol=1e-6)
    before, after = train(model, arch)
    assert after < before - 0.03, (before, after)
    roundtrip(model, tiny_models[arch], arch, name, opts, tmp_path)


def test_no_layer_norms_when_disabled_and_nonlinearity_choice(tiny_models):
    model = load(tiny_models["llama"], "llama")
    opts = parse_options("houlsby", {"size": 4, "train_layer_norms": False, "non_linearity": "swish"})
    model = get("houlsby").apply(model, opts, "causal-lm")
    assert all("studio_adapter" in n for n in trainable(model))
    adapter = model.model.layers[0].mlp.down_proj.studio_adapter
    assert isinstance(adapter.act, torch.nn.SiLU)


def test_bert_ffn_adapter_is_not_the_attention_one(tiny_models):
    model = get("pfeiffer").apply(load(tiny_models["bert"], "bert"), parse_options("pfeiffer", {}),
                                  "classification")
    layer = model.bert.encoder.layer[0]
    assert hasattr(layer.output.dense, "studio_adapter")
    assert not hasattr(layer.attention.output.dense, "studio_adapter")


def test_applying_twice_is_refused(tiny_models):
    model = get("houlsby").apply(load(tiny_models["gpt2"], "gpt2"), parse_options("houlsby", {}), "causal-lm")
    for name in ("houlsby", "pfeiffer", "compacter"):
        with pytest.raises(ValueError, match="already has bottleneck adapters"):
            get(name).apply(model, parse_options(name, {}), "causal-lm")


def test_deepcopy_keeps_the_adapters(tiny_models):
    model = get("houlsby").apply(load(tiny_models["gpt2"], "gpt2"), parse_options("houlsby", {}), "causal-lm")
    train(model, "gpt2", steps=2)
    data = batch(model, "gpt2")
    assert torch.equal(logits(copy.deepcopy(model), data), logits(model, data))


def test_works_on_meta_and_keeps_dtype(tiny_models):
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(tiny_models["llama"])
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(cfg)
    meta = get("houlsby").apply(meta, parse_options("houlsby", {"size": 8}), "causal-lm")
    assert all(p.device.type == "meta" for p in meta.parameters())
    d, layers = dims(meta)
    assert sum(trainable(meta).values()) == layers * (2 * (2 * d * 8 + 8 + d) + 2 * d)
    half = load(tiny_models["gpt2"], "gpt2").to(torch.bfloat16)
    half = get("pfeiffer").apply(half, parse_options("pfeiffer", {}), "causal-lm")
    assert {p.dtype for n, p in half.named_parameters() if "studio_adapter" in n} == {torch.bfloat16}
    logits(half, batch(half, "gpt2"))


def test_unknown_architecture_names_model_type_and_what_was_looked_for():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(4, 4)

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = type("Cfg", (), {"model_type": "toy"})()
            self.blocks = torch.nn.ModuleList([Block(), Block()])

    with pytest.raises(ConfigError, match=r"'toy'.*self_attn\.o_proj \+ mlp\.down_proj"):
        get("houlsby").apply(Toy(), parse_options("houlsby", {}), "causal-lm")


@pytest.mark.parametrize("name", ["houlsby", "pfeiffer"])
def test_bad_options_name_the_option(name):
    with pytest.raises(ConfigError, match=r"method\.size"):
        parse_options(name, {"size": 0})
    with pytest.raises(ConfigError, match=r"method\.non_linearity"):
        parse_options(name, {"non_linearity": "sigmoid"})
    with pytest.raises(ConfigError, match=r"method\.init_std"):
        parse_options(name, {"init_std": 0})
    with pytest.raises(ConfigError, match="size"):
        get(name).options(size=0)  # built directly, as load_method_weights does


def test_descriptions_state_the_formula():
    assert "2·(2·d·a + a + d) per block" in get("houlsby").describe()
    assert "2·d·a + a + d per block" in get("pfeiffer").describe()
    assert not get("houlsby").mergeable and not get("pfeiffer").mergeable
