"""bench/gui.py runs end to end at its smallest settings (no timing is asserted: only that it works)."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LINES = {
    r"time-to-interactive ratio studio/bare": "goal <= 1.5",
    r"plot update with 2,000 points": "goal <= 16 ms",
}


@pytest.mark.slow
def test_gui_bench_runs_and_prints_its_figures(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path))
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gui.py"), "--repeats", "1", "--points", "2000",
                           "--updates", "2", "--platform", "offscreen"],
                          capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for label, goal in LINES.items():
        match = re.search(rf"^{re.escape(label)}: ([0-9.]+)(?: ms)? \({re.escape(goal)}\)$", proc.stdout, re.MULTILINE)
        assert match, f"no '{label}: X ({goal})' line in:\n{proc.stdout}"
        value = float(match.group(1))
        assert math.isfinite(value) and value > 0, f"{label}: {value}"
    assert len(re.findall(r"^interactive +0 ", proc.stdout, re.MULTILINE)) == 1, proc.stdout
    assert not list(tmp_path.glob("studio-gui-bench-*")), "the bench left its temporary folder behind"
