"""bench/compare.py runs end to end at its smallest settings (no timing is asserted: only that it works)."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_compare_bench_prints_a_swap_ratio_for_lora_and_houlsby(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--repeats", "1", "--hidden", "32", "--layers", "1"],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for method in ("lora", "houlsby"):
        match = re.search(rf"^{method} swap/base-load ratio: (\S+) \(goal <= 0\.05\)$", proc.stdout, re.MULTILINE)
        assert match, f"no '{method} swap/base-load ratio: X (goal <= 0.05)' line in:\n{proc.stdout}"
        value = float(match.group(1))
        assert math.isfinite(value) and value > 0, f"{method}: {value}"
        assert len(re.findall(rf"^{method} +0 ", proc.stdout, re.MULTILINE)) == 1, proc.stdout
    assert "loaded its base 1 time(s)" in proc.stdout
    assert not list(tmp_path.glob("studio-bench-*")), "the bench left its temporary folder behind"
