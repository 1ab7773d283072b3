"""Fixtures for the model browser's pure functions: an empty hub cache, a fake one, method defaults."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch) -> Path:
    """HF_HUB_CACHE pointing at an empty folder, so the machine's real cache never leaks in."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def fake_cache_repo(cache: Path, repo_id: str, model_dir: Path, commit: str = "a" * 40,
                    repo_type: str = "model", ref: str | None = "main") -> Path:
    """Lay out model_dir as huggingface_hub does: blobs by hash, snapshot symlinks, refs/main."""
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True)
    for f in sorted(model_dir.iterdir()):
        if f.is_file():
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
            blob = repo / "blobs" / digest
            if not blob.exists():
                shutil.copyfile(f, blob)
            os.symlink(os.path.relpath(blob, snapshot), snapshot / f.name)
    if ref:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture(scope="session")
def method_defaults() -> dict:
    """{method: {option: default}} as the GUI reads them from `studio methods --json`."""
    from studio import methods
    from studio.methods.registry import option_specs

    return {n: {o["name"]: o["default"] for o in option_specs(n)} for n in methods.names()}


def make_gguf(path: Path, layers: int = 1, d: int = 8, vocab: int = 16) -> Path:
    """A tiny llama GGUF file written with the gguf package (F32 tensors, tied embeddings)."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(layers)
    writer.add_embedding_length(d)
    writer.add_feed_forward_length(2 * d)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_context_length(64)
    writer.add_vocab_size(vocab)
    # numpy shapes are [out, in]; the file stores them fastest-first, as llama.cpp does
    writer.add_tensor("token_embd.weight", np.zeros((vocab, d), np.float32))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_q.weight", np.zeros((d, d), np.float32))
        writer.add_tensor(f"blk.{i}.attn_k.weight", np.zeros((d // 2, d), np.float32))
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(d, np.float32))
    writer.add_tensor("output_norm.weight", np.ones(d, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
