"""bench/distributed.py runs end to end at its smallest settings (no timing is asserted: only that it works)."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_distributed_bench_runs_one_and_two_processes_and_prints_the_ratios(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distributed.py"), "--steps", "1", "--warmup-steps", "1",
         "--repeats", "1", "--batch", "2", "--seq", "8", "--hidden", "32", "--layers", "1", "--json"],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for label in ("tokens/s ratio 2/1 processes", "step-time ratio 2/1 processes"):
        match = re.search(rf"^{re.escape(label)}: (\S+)$", proc.stdout, re.MULTILINE)
        assert match and math.isfinite(float(match.group(1))) and float(match.group(1)) > 0, proc.stdout
    assert re.search(r"^all-reduce share of a 2-process step: [\d.]+ %$", proc.stdout, re.MULTILINE), proc.stdout
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    (one, two), = figures["runs"]
    # The same effective batch: the 2-process run's micro-batch is half the 1-process one.
    assert (one["processes"], one["micro_batch"], two["processes"], two["micro_batch"]) == (1, 2, 2, 1)
    assert one["tokens_per_step"] == two["tokens_per_step"] == 16
    assert 0.0 <= figures["allreduce_share"] < 1.0
    assert not list(tmp_path.glob("studio-bench-dist-*")), "the bench left its temporary folder behind"
