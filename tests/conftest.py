"""Shared fixtures: a temporary data home, tiny models on disk, and a `studio` CLI runner."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty STUDIO_HOME for one test."""
    from studio.paths import Home

    h = Home(tmp_path / "home").ensure()
    monkeypatch.setenv("STUDIO_HOME", str(h.root))
    return h


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny gpt2 / llama / bert-classifier folders, built once per session."""
    from tests.tiny import make_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {arch: make_tiny_model(root / arch, arch) for arch in ("gpt2", "llama", "bert")}


def instruction_rows(n: int = 80) -> list[dict]:
    """A small, learnable instruction set: answer with the number doubled."""
    return [{"instruction": f"Double {i}.", "input": "", "output": f"The answer is {2 * i}."}
            for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_config(folder: Path, **overrides) -> Path:
    """A run config (YAML) with small defaults; nested keys merge one level deep."""
    cfg = {"name": "t", "task": "causal-lm", "model": "", "data": {"max_length": 64},
           "method": {"name": "lora", "r": 4, "alpha": 8},
           "training": {"max_steps": 10, "batch_size": 4, "learning_rate": 5e-3, "save_steps": 5,
                        "eval_steps": 5, "keep_checkpoints": 2, "seed": 0}}
    for key, value in overrides.items():
        if key in ("data", "training") and isinstance(value, dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def studio(home, *args: str, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess:
    """Run the real `studio` command in a subprocess against `home`."""
    env = dict(os.environ, STUDIO_HOME=str(home.root), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"studio {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def wait_for(predicate, timeout: float = 120, interval: float = 0.05, what: str = "condition"):
    """Poll until predicate() is truthy; return its value."""
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
