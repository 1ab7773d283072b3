"""Library tests: tiny adapters made in seconds (apply a method, perturb what it trains, save it the
way the recipe does), one torch thread, seeded."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

LABELS = ["neg", "pos"]
OPTIONS = {"lora": {"r": 4}, "dora": {"r": 4}, "ia3": {}, "prefix": {"num_virtual_tokens": 4},
           "prompt": {"num_virtual_tokens": 4}, "houlsby": {"size": 8}, "pfeiffer": {"size": 8},
           "compacter": {"size": 8, "n": 4}, "bitfit": {}, "top_k": {"k": 1}, "full": {}}


@pytest.fixture(autouse=True)
def _one_thread(one_thread_seeded):
    """Every test here runs seeded on one thread (tests/conftest.py)."""
    yield


def task_of(arch: str) -> str:
    return "classification" if arch == "bert" else "causal-lm"


def make_adapter(folder: Path, base_dir: Path, arch: str, method: str, seed: int = 1,
                 options: dict | None = None, scale: float = 0.05) -> Path:
    """A 'trained' adapter: the method applied to the tiny base, its trainable tensors perturbed,
    saved with save_adapter + a studio.json like adapter_metadata's."""
    import hashlib

    import torch

    from studio import __version__, methods
    from studio.core.models import ensure_pad_token_id, load_model, load_tokenizer
    from studio.core.train import save_adapter
    from studio.methods.saving import save_method_weights, trainable_names, uses_own_format

    task = task_of(arch)
    opts_dict = OPTIONS[method] if options is None else options
    labels = LABELS if task == "classification" else None
    tokenizer = load_tokenizer(str(base_dir))
    model = load_model(str(base_dir), task, label_names=labels)
    ensure_pad_token_id(model, tokenizer)
    opts = methods.parse_options(method, opts_dict)
    model = methods.get(method).apply(model, opts, task)
    names = trainable_names(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * scale)
    meta = {"studio_version": __version__, "method": method, "method_options": opts_dict, "task": task,
            "base_model": str(base_dir), "base_model_path": str(base_dir),
            "base_config_sha256": hashlib.sha256((Path(base_dir) / "config.json").read_bytes()).hexdigest(),
            "id2label": dict(enumerate(labels)) if labels else None,
            "training": {"data": {"train": "/data/train.jsonl"}, "training": {"learning_rate": 0.01, "max_steps": 3}},
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "total_params": sum(p.numel() for p in model.parameters()), "steps": 3,
            "final_metrics": {"eval_loss": 1.25}}
    save = partial(save_method_weights, method_name=method, opts=opts, names=names)
    return save_adapter(model, tokenizer, Path(folder), meta, save if uses_own_format(method) else None)


def logits(model, arch: str = "llama"):
    import torch

    ids = torch.randint(5, 300, (2, 10), generator=torch.Generator().manual_seed(3))
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


@pytest.fixture(scope="session")
def wide_llama(tiny_models, tmp_path_factory):
    """A tiny llama like tiny_models['llama'] but 48 wide: another base with the same layer names."""
    import shutil

    from transformers import AutoModelForCausalLM

    from tests.tiny import tiny_config

    import json

    folder = tmp_path_factory.mktemp("wide") / "llama48"
    vocab = json.loads((Path(tiny_models["llama"]) / "config.json").read_text())["vocab_size"]
    cfg = tiny_config("llama", vocab)
    cfg.hidden_size, cfg.intermediate_size, cfg.head_dim = 48, 96, 12
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    for f in Path(tiny_models["llama"]).glob("tokenizer*"):
        shutil.copy2(f, folder / f.name)
    return folder


@pytest.fixture
def db(home):
    """The studio database of the test's home."""
    from studio.store.db import open_db

    database = open_db(home.db_path)
    yield database
    database.close()
