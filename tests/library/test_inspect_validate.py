"""Describing adapter folders from their files, and checking them against a base from headers only."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from studio.library.inspect import AdapterFormatError, describe, settings_text
from studio.library.validate import BaseNotFound, check, locate_base
from tests.library.conftest import make_adapter

# Every method × family the matrix trains (BitFit refuses Llama, which has no biases).
CASES = [(m, a) for m in ("lora", "dora", "ia3", "prefix", "prompt", "houlsby", "pfeiffer", "compacter",
                          "bitfit", "top_k", "full") for a in ("gpt2", "llama", "bert")
         if not (m == "bitfit" and a == "llama")]


@pytest.mark.parametrize("method,arch", CASES, ids=[f"{m}-{a}" for m, a in CASES])
def test_every_method_fits_its_own_base_and_is_described(tmp_path, tiny_models, method, arch):
    folder = make_adapter(tmp_path / "a", tiny_models[arch], arch, method)
    info = describe(folder)
    assert info.method == method and not info.problems
    assert info.kind == ("full-model" if method == "full" else
                         "peft" if method in ("lora", "dora", "ia3", "prefix", "prompt") else "studio")
    assert info.task == ("classification" if arch == "bert" else "causal-lm")
    assert info.base_path == str(tiny_models[arch]) and info.dataset == "/data/train.jsonl"
    assert info.tensors and info.size_bytes > 0 and info.metrics == {"eval_loss": 1.25}
    assert check(info, tiny_models[arch]) == []  # GPT-2's Conv1D, IA3 vectors, PHM blocks all line up


def test_describe_plain_peft_without_studio_json(tmp_path, tiny_models):
    folder = make_adapter(tmp_path / "a", tiny_models["gpt2"], "gpt2", "dora")
    (folder / "studio.json").unlink()
    info = describe(folder)
    assert (info.kind, info.method, info.task, info.peft_type) == ("peft", "dora", "causal-lm", "LORA")
    assert info.settings["r"] == 4 and info.settings["target_modules"] == ["c_attn"]
    assert info.base_ref == str(tiny_models["gpt2"])
    assert settings_text(info.method, info.settings) == "r 4 · alpha 16 · c_attn"
    # lora_A [r, in], lora_B [out, r], magnitude [out]: 2 blocks × (4·32 + 96·4 + 96)
    assert info.trainable_params == 2 * (4 * 32 + 96 * 4 + 96)


def test_describe_refuses_what_is_not_an_adapter(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdapterFormatError, match="neither adapter_config.json"):
        describe(tmp_path / "empty")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "adapter_config.json").write_text(json.dumps({"peft_type": "LOHA", "task_type": "CAUSAL_LM"}))
    info = describe(tmp_path / "odd")
    assert any("LOHA is not one of the studio's methods" in p for p in info.problems)
    assert any("no adapter_model.safetensors" in p for p in info.problems)


def test_lora_for_another_base_names_the_differing_shapes(tmp_path, tiny_models, wide_llama):
    info = describe(make_adapter(tmp_path / "a", tiny_models["llama"], "llama", "lora"))
    diffs = check(info, wide_llama)
    # q_proj: 32 → 48 in and out; v_proj (2 kv heads × 8): in 32 → 48, out 16 → 24
    assert ("tensor base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight: "
            "adapter has (4, 32), base expects (4, 48)") in diffs
    assert ("tensor base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight: "
            "adapter has (16, 4), base expects (24, 4)") in diffs
    assert len(diffs) == 8


@pytest.mark.parametrize("method", ["ia3", "houlsby", "compacter", "top_k", "prefix", "prompt"])
def test_other_methods_for_another_base_are_refused(tmp_path, tiny_models, wide_llama, method):
    info = describe(make_adapter(tmp_path / "a", tiny_models["llama"], "llama", method))
    diffs = check(info, wide_llama)
    assert diffs and all("adapter has" in d and "base expects" in d for d in diffs), diffs


def test_gpt2_adapter_against_llama_names_missing_layers(tmp_path, tiny_models):
    info = describe(make_adapter(tmp_path / "a", tiny_models["gpt2"], "gpt2", "lora"))
    diffs = check(info, tiny_models["llama"])
    assert "the base has no layer transformer.h.0.attn.c_attn" in diffs[0]


def test_classifier_head_must_match_the_labels(tmp_path, tiny_models):
    info = describe(make_adapter(tmp_path / "a", tiny_models["bert"], "bert", "lora"))
    info.id2label = {"0": "a", "1": "b", "2": "c"}  # as if studio.json said three labels
    diffs = check(info, tiny_models["bert"])
    assert "tensor base_model.model.classifier.weight: adapter has (2, 32), base expects (3, 32)" in diffs


def test_names_match_across_a_prefix_difference(tmp_path, tiny_models):
    """A base saved as GPT2Model ('h.0...') still fits an adapter of GPT2LMHeadModel ('transformer.h.0...')."""
    from safetensors.torch import load_file, save_file

    bare = tmp_path / "bare"
    bare.mkdir()
    tensors = load_file(str(Path(tiny_models["gpt2"]) / "model.safetensors"))
    save_file({k.removeprefix("transformer."): v for k, v in tensors.items()}, str(bare / "model.safetensors"))
    (bare / "config.json").write_text((Path(tiny_models["gpt2"]) / "config.json").read_text())
    for method in ("lora", "ia3", "bitfit"):
        info = describe(make_adapter(tmp_path / method, tiny_models["gpt2"], "gpt2", method))
        assert check(info, bare) == []


def test_locate_base(tmp_path, tiny_models, monkeypatch):
    assert locate_base(str(tiny_models["gpt2"])) == Path(tiny_models["gpt2"])
    assert locate_base("nobody/absent", hint=str(tiny_models["bert"])) == Path(tiny_models["bert"])
    with pytest.raises(BaseNotFound, match="not on this machine"):
        locate_base("nobody/absent-model-xyz")
    with pytest.raises(BaseNotFound, match="names no base"):
        locate_base(None)


def test_read_only_parts_do_not_import_torch():
    import subprocess

    code = ("import sys; import studio.library.library, studio.library.validate, studio.library.bundle; "
            "sys.exit(1 if {'torch', 'transformers', 'peft'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]).returncode == 0
