"""The method matrix: every method × tiny GPT-2 / Llama / BERT classifier, like PEFT's parametrised
test cases. Per-method formulas and names live in the methods' own test files; here every method
must apply, start from the base, learn, save and reload exactly, merge exactly (when mergeable),
and the meta-device probe must count exactly what a real apply trains."""
from __future__ import annotations

import copy

import pytest
import torch

from studio import methods
from studio.core.models import count_parameters, load_model
from studio.methods.saving import load_method_weights, save_method_weights, trainable_names

# Small options so the tiny models (hidden 32, 2 blocks) fit every method.
OPTIONS = {
    "lora": {"r": 4}, "dora": {"r": 4}, "ia3": {}, "prefix": {"num_virtual_tokens": 4},
    "prompt": {"num_virtual_tokens": 4}, "houlsby": {"size": 8}, "pfeiffer": {"size": 8},
    "compacter": {"size": 8, "n": 4}, "bitfit": {}, "top_k": {"k": 1}, "full": {},
    "qlora": {"r": 4, "targets": "qv"},
}
# The papers' rates where 1e-2 is wrong: soft prompts need far more, full fine-tuning less.
LEARNING_RATES = {"full": 1e-3, "prompt": 0.3}
# Methods whose output at initialisation must equal the base model's (to 1e-6).
STARTS_AT_BASE = {"lora", "dora", "ia3", "houlsby", "pfeiffer", "compacter", "bitfit", "top_k", "full"}
# Llama has no biases: BitFit refuses it (tested below), so it is not in the matrix.
CASES = [(m, arch) for m in OPTIONS for arch in ("gpt2", "llama", "bert")
         if not (m == "bitfit" and arch == "llama")]
IDS = [f"{m}-{arch}" for m, arch in CASES]
LABELS = ["neg", "pos"]


def task_of(arch: str) -> str:
    return "classification" if arch == "bert" else "causal-lm"


def base_model(tiny_models, arch: str, method: str = "full"):
    m = methods.get(method)
    opts = methods.parse_options(method, OPTIONS.get(method, {}))
    extra = m.load_kwargs(opts) if m.load_kwargs else {}
    return load_model(str(tiny_models[arch]), task_of(arch), label_names=LABELS if arch == "bert" else None,
                      **extra)


def applied(tiny_models, method: str, arch: str):
    """(fresh base, base with the method applied, its options)."""
    opts = methods.parse_options(method, OPTIONS[method])
    base = base_model(tiny_models, arch, method)
    model = methods.get(method).apply(copy.deepcopy(base), opts, task_of(arch))
    return base, model, opts


def batch(arch: str) -> dict:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 300, (4, 12), generator=g)
    out = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if arch == "bert":  # the label is in the text (rows 1 and 3 say token 7 twice), so it can be learned
        labels = torch.tensor([0, 1, 0, 1])
        ids[labels == 1, 1:3] = 7
        return {**out, "labels": labels}
    return {**out, "labels": ids.clone()}


def logits(model, arch: str) -> torch.Tensor:
    model.eval()
    b = {k: v for k, v in batch(arch).items() if k != "labels"}
    with torch.no_grad():
        return model(**b).logits.float()


def loss(model, arch: str) -> float:
    model.eval()
    with torch.no_grad():
        return float(model(**batch(arch)).loss)


@pytest.mark.parametrize("method,arch", CASES, ids=IDS)
def test_applies_and_starts_from_the_base(tiny_models, method, arch):
    base, model, _ = applied(tiny_models, method, arch)
    trainable, total = count_parameters(model)
    assert 0 < trainable <= total
    if arch == "bert":  # the classifier head trains with every method
        assert any("classifier" in n for n in trainable_names(model)), trainable_names(model)
    if method in STARTS_AT_BASE:
        torch.testing.assert_close(logits(model, arch), logits(base, arch), atol=1e-6, rtol=0)


@pytest.mark.parametrize("method,arch", CASES, ids=IDS)
def test_learns_then_saves_and_reloads_exactly(tiny_models, method, arch, tmp_path):
    torch.manual_seed(0)
    _, model, opts = applied(tiny_models, method, arch)
    names = trainable_names(model)
    before = loss(model, arch)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATES.get(method, 1e-2))
    for _ in range(20):
        model.train()
        model(**batch(arch)).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = loss(model, arch)
    assert after < before, f"{method} on {arch}: loss {before:.4f} -> {after:.4f}"

    save_method_weights(model, tmp_path / "a", method, opts, names)
    if method == "full":
        reloaded = load_model(str(tmp_path / "a"), task_of(arch), label_names=LABELS if arch == "bert" else None)
    else:
        reloaded = load_method_weights(base_model(tiny_models, arch, method), tmp_path / "a")
    torch.testing.assert_close(logits(reloaded, arch), logits(model, arch), atol=1e-6, rtol=0)


# QLoRA merges into a full-precision reload of the base, so it differs from the 4-bit model by the
# quantization error; test_qlora.py checks that merge against the full-precision base + adapter.
MERGEABLE = [(m, a) for m, a in CASES if methods.get(m).mergeable and m != "qlora"]


@pytest.mark.parametrize("method,arch", MERGEABLE, ids=[f"{m}-{a}" for m, a in MERGEABLE])
def test_merged_model_equals_the_unmerged_one(tiny_models, method, arch):
    torch.manual_seed(0)
    base, model, _ = applied(tiny_models, method, arch)
    with torch.no_grad():  # move away from the identity start so merging has something to merge
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    unmerged = logits(model, arch)
    merged = methods.get(method).merge(model)
    assert type(merged) is type(base)  # a plain transformers model that transformers can save/load
    assert set(merged.state_dict()) == set(base.state_dict())
    torch.testing.assert_close(logits(merged, arch), unmerged, atol=1e-4, rtol=0)


@pytest.mark.parametrize("method,arch", CASES, ids=IDS)
def test_probe_counts_exactly_what_apply_trains(tiny_models, method, arch):
    from studio.config import DataSpec, MethodSpec, RunConfig
    from studio.core.probe import probe

    cfg = RunConfig(name="p", task=task_of(arch), model=str(tiny_models[arch]), data=DataSpec(train="x"),
                    method=MethodSpec(method, OPTIONS[method]))
    result = probe(cfg, LABELS if arch == "bert" else None)
    _, model, _ = applied(tiny_models, method, arch)
    assert (result["trainable_params"], result["total_params"]) == count_parameters(model)
    assert sum(g["params"] for g in result["layer_groups"]) == result["trainable_params"]


def test_bitfit_refuses_a_model_without_biases(tiny_models):
    base = base_model(tiny_models, "llama")
    with pytest.raises(ValueError, match="llama model has no bias terms.*choose lora or ia3"):
        methods.get("bitfit").apply(base, methods.parse_options("bitfit", {}), "causal-lm")
