"""Shared fixtures: a temporary data home, tiny models on disk, and a `studio` CLI runner."""
from __future__ import annotations

import json
import os
import shutil
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


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server for real-window tests; its display name (e.g. ':5')."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb, or run scripts/install.sh --dev as root)")
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it once it accepts connections.
    proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    try:
        with os.fdopen(read) as fh:
            number = fh.readline().strip()
        if not number:
            pytest.fail(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def one_thread_seeded():
    """Seeded, one torch thread: tiny models only lose time to thread hand-offs on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
