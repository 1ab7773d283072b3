"""All 12 methods train under DDP, a classifier and DPO too, and rank 0's pause stops every rank:
one torchrun of two gloo processes (tests/core/distributed_methods_run.py), two steps per case."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.methods.rates import RECOMMENDED_RATES
from tests.conftest import ROOT, instruction_rows, write_jsonl


@pytest.mark.slow
def test_every_method_trains_two_steps_in_two_gloo_processes(tmp_path, tiny_models):
    methods = sorted(RECOMMENDED_RATES)  # every method the studio has (the registry's names)
    assert len(methods) == 12
    labels = [{"text": f"{w} item {i}", "label": lab} for i in range(8) for w, lab in (("good", "pos"), ("bad", "neg"))]
    pairs = [{"prompt": f"What is {i} + {i}?", "chosen": f" {2 * i}.", "rejected": " No idea."} for i in range(8)]
    spec = {"gpt2": str(tiny_models["gpt2"]), "bert": str(tiny_models["bert"]), "out": str(tmp_path / "out"),
            "text": str(write_jsonl(tmp_path / "text.jsonl", instruction_rows(16))),
            "labels": str(write_jsonl(tmp_path / "labels.jsonl", labels)),
            "pairs": str(write_jsonl(tmp_path / "pairs.jsonl", pairs)), "methods": methods}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(Path(__file__).with_name("distributed_methods_run.py")), str(tmp_path / "spec.json")],
        capture_output=True, text=True, env=env, timeout=300)  # ~30 s quiet
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    # find_unused_parameters is off for every method (core/distributed.py): a method leaving a trained
    # parameter without a gradient would fail its second step here. Without rank 0's decision
    # broadcast, rank 1 would train on past the pause and the group would hang or fail. "unshared":
    # only rank 0 sees a checkpoint (a node without the shared run folder): every rank refuses.
    cases = [*methods, "classification", "dpo", "pause", "unshared"]
    errors = "".join(p.read_text() for p in sorted(out.glob("error-*.txt")))  # each rank's first traceback
    assert results == {name: "ok" for name in cases}, (errors or proc.stderr)[-6000:]
    for name, step in [*((m, 2) for m in methods), ("pause", 1)]:  # rank 0 published each, with both RNG states
        ckpt = out / name / "checkpoints" / f"checkpoint-{step}"
        assert {"rng_state_0.pth", "rng_state_1.pth", "COMPLETE"} <= set(os.listdir(ckpt)), name


def _cuda_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.slow
@pytest.mark.skipif(_cuda_gpus() < 2, reason="FSDP2 needs two CUDA GPUs (NCCL refuses two ranks on one); "
                    "on CPU the config check refuses FSDP, tested in tests/core/test_distributed.py")
def test_fsdp2_trains_full_lora_and_qlora_on_two_gpus(tmp_path, tiny_models):
    methods = ["full", "lora", "qlora"]
    spec = {"gpt2": str(tiny_models["gpt2"]), "bert": str(tiny_models["bert"]), "out": str(tmp_path / "out"),
            "text": str(write_jsonl(tmp_path / "text.jsonl", instruction_rows(16))), "labels": "", "pairs": "",
            "methods": methods, "device": "cuda", "strategy": "fsdp", "methods_only": True}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(Path(__file__).with_name("distributed_methods_run.py")), str(tmp_path / "spec.json")],
        capture_output=True, text=True, env=env, timeout=300)
    results = json.loads((tmp_path / "out" / "results.json").read_text()) if (tmp_path / "out" / "results.json").exists() else {}
    assert results == {m: "ok" for m in methods}, proc.stderr[-4000:]
