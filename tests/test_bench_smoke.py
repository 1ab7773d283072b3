"""bench/throughput.py runs end to end at its smallest settings (no timing is asserted: only that it works)."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

RATIO_LINES = {
    "tokens/s ratio engine/plain": "goal >= 1.00",
    "step-time ratio sqlite on/off": "goal <= 1.01",
}


@pytest.mark.slow
def test_throughput_bench_runs_and_prints_both_ratios(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "throughput.py"), "--steps", "2", "--repeats", "1", "--batch", "2",
         "--seq", "16", "--hidden", "32", "--layers", "1", "--warmup-steps", "1"],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for label, goal in RATIO_LINES.items():
        match = re.search(rf"^{re.escape(label)}: (\S+) \({re.escape(goal)}\)$", proc.stdout, re.MULTILINE)
        assert match, f"no '{label}: X ({goal})' line in:\n{proc.stdout}"
        value = float(match.group(1))
        assert math.isfinite(value) and value > 0, f"{label}: {value}"
    # The table lists every timed run: one engine/plain pair and one sqlite on/off pair.
    assert len(re.findall(r"^(plain|sqlite) ", proc.stdout, re.MULTILINE)) == 4, proc.stdout
    assert not list(tmp_path.glob("studio-bench-*")), "the bench left its temporary folder behind"


@pytest.mark.slow
def test_methods_bench_runs_and_prints_a_row_per_method(tmp_path, tiny_models):
    import json as _json

    rows = [{"text": f"{'goal match' if i % 2 else 'soup bread'} {i}", "label": "a" if i % 2 else "b"}
            for i in range(24)]
    data = tmp_path / "topics.jsonl"
    data.write_text("".join(_json.dumps(r) + "\n" for r in rows))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "methods.py"), "--methods", "full,bitfit", "--steps", "2",
         "--batch", "4", "--model", str(tiny_models["bert"]), "--data", str(data), "--markdown",
         "--json", str(tmp_path / "rows.json")],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    saved = _json.loads((tmp_path / "rows.json").read_text())
    assert [r["method"] for r in saved] == ["full", "bitfit"]
    assert all(0 < r["trainable"] <= r["total"] and 0.0 <= r["accuracy"] <= 1.0 for r in saved)
    assert re.search(r"^\| bitfit \| 0\.005 \| [\d,]+ \|", proc.stdout, re.MULTILINE), proc.stdout


@pytest.mark.slow
def test_throughput_bench_ragged_compares_packed_engine_with_padded_plain(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "throughput.py"), "--ragged", "--steps", "2", "--repeats", "1",
         "--batch", "8", "--seq", "128", "--hidden", "32", "--layers", "1", "--warmup-steps", "0"],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    match = re.search(r"^real tokens/s ratio engine \(packed\)/plain \(padded\): (\S+) \(goal >= 1\.3\)$", out,
                      re.MULTILINE)
    assert match and math.isfinite(float(match.group(1))) and float(match.group(1)) > 0, out
    losses = re.search(r"^final loss \(mean of the last 5 steps\): engine (\S+), plain (\S+) ", out, re.MULTILINE)
    assert losses and all(math.isfinite(float(v)) for v in losses.groups()), out
    # The engine really packed (its log line), and both sides counted the same real tokens of the same rows.
    rows = re.findall(r"^ragged\s+(engine|plain)\s+0\s+2\s+(\d+) .*$", out, re.MULTILINE)
    assert [v for v, _ in rows] == ["engine", "plain"] and rows[0][1] == rows[1][1], out
    assert re.search(r"^ragged\s+engine .*packing=on", out, re.MULTILINE), out
    assert not list(tmp_path.glob("studio-bench-*")), "the bench left its temporary folder behind"
