"""local_models(): bundled samples, the hub cache (HF_HUB_CACHE / HF_HOME), and user folders."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from studio.modelinfo.scan import folder_models, hub_cache_dir, local_models
from studio.modelinfo.sources import resolve_model
from tests.modelinfo.conftest import fake_cache_repo, make_gguf


def by_ref(entries):
    return {e.ref: e for e in entries}


def test_samples_are_listed(empty_hub_cache):
    entries = by_ref(local_models([]))
    assert set(entries) == {"sample:minilm", "sample:smollm2"}
    assert entries["sample:minilm"].facts.params == 22_713_216  # BertModel; the int64 position_ids excluded
    assert entries["sample:smollm2"].facts.weights_format == "gguf"
    assert all(e.source == "sample" and e.facts.problem is None for e in entries.values())


def test_hub_cache_snapshots_are_listed(empty_hub_cache, tiny_models):
    fake_cache_repo(empty_hub_cache, "acme/tiny-gpt2", tiny_models["gpt2"])
    fake_cache_repo(empty_hub_cache, "acme/tiny-llama", tiny_models["llama"], commit="b" * 40)
    old = fake_cache_repo(empty_hub_cache, "acme/tiny-llama", tiny_models["llama"], commit="c" * 40, ref=None)
    fake_cache_repo(empty_hub_cache, "acme/some-data", tiny_models["gpt2"], repo_type="dataset")
    entries = by_ref(e for e in local_models([]) if e.source == "cache")
    assert set(entries) == {"acme/tiny-gpt2", "acme/tiny-llama", str(old)}  # datasets are not models
    gpt2 = entries["acme/tiny-gpt2"]
    assert gpt2.facts.params == 42_368 and gpt2.facts.architecture == "GPT2LMHeadModel"
    assert gpt2.facts.size_bytes == sum(f.stat().st_size for f in tiny_models["gpt2"].iterdir() if f.is_file())
    assert entries[str(old)].name == "acme/tiny-llama@cccccccc"  # only the snapshot `main` names loads by id
    assert resolve_model("acme/tiny-gpt2").kind == "hub"


def test_hf_home_is_honoured(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hub_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub_cache_dir() == tmp_path / "elsewhere"


def test_user_folders_one_level_deep(empty_hub_cache, tiny_models, tmp_path):
    shelf = tmp_path / "shelf"
    (shelf / "nested").mkdir(parents=True)
    shutil.copytree(tiny_models["bert"], shelf / "my-bert")
    make_gguf(shelf / "smol.gguf")
    make_gguf(shelf / "nested" / "deep.gguf", layers=2)
    (shelf / "notes").mkdir()
    entries = by_ref(local_models([shelf, tiny_models["llama"], tmp_path / "gone", tmp_path / "shelf" / "notes"]))
    assert entries[str(shelf / "my-bert")].source == "folder"
    assert entries[str(shelf / "my-bert")].facts.params == 35_234
    smol = entries[str(shelf / "smol.gguf")]
    assert smol.source == "gguf" and smol.facts.params == 16 * 8 + 8 * 8 + 4 * 8 + 8 + 8
    assert (smol.facts.layers, smol.facts.hidden_size, smol.facts.kv_heads) == (1, 8, 1)
    assert entries[str(shelf / "nested" / "deep.gguf")].facts.layers == 2
    assert entries[str(tiny_models["llama"])].facts.params == 44_192  # a folder that is itself a model
    assert "not found" in entries[str(tmp_path / "gone")].facts.problem
    assert "no model here" in entries[str(shelf / "notes")].facts.problem


def test_a_model_is_listed_once(empty_hub_cache, tiny_models, tmp_path):
    sample = resolve_model("sample:smollm2")
    os.symlink(Path(sample.path) / sample.gguf_file, tmp_path / "same.gguf")  # the sample, linked
    refs = [e.ref for e in local_models([tiny_models["gpt2"], tiny_models["gpt2"], tmp_path])]
    assert refs.count(str(tiny_models["gpt2"])) == 1
    assert "sample:smollm2" in refs and str(tmp_path / "same.gguf") not in refs
    assert folder_models(tiny_models["gpt2"] / "config.json")[0].facts.problem  # a file that is not .gguf
