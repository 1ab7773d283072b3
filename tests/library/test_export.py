"""Merged export: a plain transformers folder that computes what base + adapter computed (fp32, 1e-4),
sharded when asked, in the chosen dtype, with a model card and a manifest, arriving atomically."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from studio.core.generate import load_with_adapter
from studio.library import export
from studio.library.bundle import OutputExists, verify_manifest
from studio.modelinfo.facts import read_safetensors_header
from tests.library.conftest import LABELS, logits, make_adapter

MERGE_CASES = [("lora", "llama"), ("lora", "bert"), ("dora", "gpt2"), ("dora", "bert"), ("ia3", "llama"),
               ("ia3", "bert"), ("bitfit", "gpt2"), ("bitfit", "bert"), ("top_k", "llama"), ("top_k", "bert"),
               ("full", "gpt2")]


def auto_class(arch: str):
    return AutoModelForSequenceClassification if arch == "bert" else AutoModelForCausalLM


@pytest.mark.parametrize("method,arch", MERGE_CASES, ids=[f"{m}-{a}" for m, a in MERGE_CASES])
def test_merged_export_computes_what_base_plus_adapter_computes(tmp_path, tiny_models, method, arch):
    adapter = make_adapter(tmp_path / "adapter", tiny_models[arch], arch, method)
    reference = logits(load_with_adapter(adapter)[0])
    base = logits(auto_class(arch).from_pretrained(tiny_models[arch]))
    assert not torch.allclose(reference, base, atol=1e-3)  # the adapter changes the model

    out = export.export_merged(adapter, tmp_path / "merged", dtype="fp32")
    merged = auto_class(arch).from_pretrained(out)  # plain transformers: no studio, no peft
    torch.testing.assert_close(logits(merged), reference, atol=1e-4, rtol=0)
    assert not any("lora" in n or "ia3" in n for n, _ in merged.named_parameters())
    if arch == "bert":
        assert list(merged.config.id2label.values()) == LABELS
    files = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "MANIFEST.sha256"} <= files
    assert ("generation_config.json" in files) == (arch != "bert")
    assert verify_manifest(out) == []


def test_qlora_merges_into_the_unquantized_base(tmp_path, tiny_models):
    """A QLoRA adapter is LoRA's files: export merges it into the base loaded in 16/32-bit (no bitsandbytes)."""
    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora")
    reference = logits(load_with_adapter(adapter)[0])
    meta = json.loads((adapter / "studio.json").read_text())
    meta.update(method="qlora", method_options={"r": 4, "targets": "qv"})
    (adapter / "studio.json").write_text(json.dumps(meta))
    out = export.export_merged(adapter, tmp_path / "merged", dtype="fp32")
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    torch.testing.assert_close(logits(merged), reference, atol=1e-4, rtol=0)


def test_sharded_bf16_export_loads(tmp_path, tiny_models):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora")
    stages = []
    out = export.export_merged(adapter, tmp_path / "merged", dtype="bf16", max_shard_size="30KB",
                               progress=lambda stage, fraction: stages.append((stage, fraction)))
    shards = sorted(p.name for p in out.glob("model-*.safetensors"))
    assert len(shards) > 1 and (out / "model.safetensors.index.json").is_file()
    assert {e["dtype"] for s in shards for e in read_safetensors_header(out / s).values()} == {"BF16"}
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    torch.testing.assert_close(logits(merged), logits(load_with_adapter(adapter)[0]), atol=0.1, rtol=0.05)
    assert verify_manifest(out) == []
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and stages[-1] == ("done", 1.0)
    assert {"loading base", "merging", "saving weights", "writing manifest"} <= {s for s, _ in stages}


def test_model_card_and_manifest(tmp_path, tiny_models):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["bert"], "bert", "lora")
    out = export.export_merged(adapter, tmp_path / "topics-merged", dtype="fp32")
    card = (out / "README.md").read_text()
    front = card.split("---")[1]
    assert f"base_model: {tiny_models['bert']}" in front and "library_name: transformers" in front
    assert "- lora" in front and "- merged" in front and "pipeline_tag: text-classification" in front
    for text in ("# topics-merged", "**lora**", "- r: 4", "- train: /data/train.jsonl", "| learning_rate | 0.01 |",
                 "| eval_loss | 1.25 |", "labels: neg, pos", "Fine-tuning Studio 0.1.0"):
        assert text in card, text
    listed = [line.split("  ")[1] for line in (out / "MANIFEST.sha256").read_text().splitlines()]
    assert sorted(listed) == sorted(p.name for p in out.iterdir() if p.name != "MANIFEST.sha256")
    (out / "config.json").write_text((out / "config.json").read_text() + " ")
    (out / "extra.txt").write_text("x")
    (out / "tokenizer.json").unlink()
    assert verify_manifest(out) == ["config.json: sha256 differs from the manifest", "tokenizer.json: missing",
                                    "extra.txt: not in the manifest"]


@pytest.mark.parametrize("method", ["houlsby", "prefix"])
def test_non_mergeable_methods_are_explained_and_export_adapter_only(tmp_path, tiny_models, method):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["gpt2"], "gpt2", method)
    with pytest.raises(export.NotMergeable, match="cannot be merged") as e:
        export.export_merged(adapter, tmp_path / "merged")
    reason = "not a change of any weight" if method == "prefix" else "non-linear block cannot be folded"
    assert "--adapter-only" in str(e.value) and reason in str(e.value)
    assert not (tmp_path / "merged").exists()

    out = export.export_adapter_only(adapter, tmp_path / "alone")
    assert {"adapter_config.json", "adapter_model.safetensors", "studio.json", "README.md",
            "MANIFEST.sha256"} <= {p.name for p in out.iterdir()}
    assert verify_manifest(out) == []
    torch.testing.assert_close(logits(load_with_adapter(out)[0]), logits(load_with_adapter(adapter)[0]))


def test_a_failed_export_leaves_nothing(tmp_path, tiny_models, monkeypatch):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["gpt2"], "gpt2", "lora")

    def boom(folder):
        raise OSError("disk full")

    monkeypatch.setattr(export, "write_manifest", boom)
    with pytest.raises(OSError, match="disk full"):
        export.export_merged(adapter, tmp_path / "out" / "merged")
    assert list((tmp_path / "out").iterdir()) == []


def test_export_never_overwrites(tmp_path, tiny_models):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["gpt2"], "gpt2", "bitfit")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(OutputExists, match="not empty"):
        export.export_merged(adapter, tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    assert (export.export_adapter_only(adapter, tmp_path / "empty") / "README.md").is_file()
    with pytest.raises(ValueError, match="dtype"):
        export.export_merged(adapter, tmp_path / "x", dtype="int8")


def test_every_exported_file_has_the_mode_the_umask_gives(tmp_path, tiny_models):
    # safetensors writes model.safetensors 0600; the configs beside it are 0644 (umask 022).
    import os
    import stat

    from studio.library.bundle import current_umask

    adapter = make_adapter(tmp_path / "adapter", tiny_models["gpt2"], "gpt2", "lora")
    out = export.export_merged(adapter, tmp_path / "merged", dtype="fp32")
    expected = 0o666 & ~current_umask()
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(os.stat(p).st_mode) for p in out.rglob("*") if p.is_file()}
    assert "model.safetensors" in modes
    assert {name: mode for name, mode in modes.items() if mode != expected} == {}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o777 & ~current_umask()
