"""All 12 methods train under DDP: one torchrun, two gloo processes, two steps each (slow: one launch)."""
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
    names = sorted(RECOMMENDED_RATES)  # every method the studio has (the registry's names)
    assert len(names) == 12
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(16))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(Path(__file__).with_name("distributed_methods_run.py")), str(tiny_models["gpt2"]), str(data),
         str(out), *names], capture_output=True, text=True, env=env, timeout=900)
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    # find_unused_parameters is off for every method (core/distributed.py): a method leaving a trained
    # parameter without a gradient would fail its second step here.
    assert results == {name: "ok" for name in names}, proc.stderr[-4000:]
    for name in names:  # rank 0 alone published each run's checkpoint, with both ranks' RNG states
        ckpt = out / name / "checkpoints" / "checkpoint-2"
        assert {"rng_state_0.pth", "rng_state_1.pth", "COMPLETE"} <= set(os.listdir(ckpt)), name
