"""bench/throughput.py runs end to end at its smallest settings (no timing is asserted: only that it works)."""
from __future__ import annotations

import json
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


def _methods_bench(tmp_path, tiny_models, task: str, data) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "methods.py"), "--task", task, "--methods", "full,bitfit",
         "--steps", "2", "--batch", "4", "--model", str(tiny_models["bert"]), "--data", str(data), "--markdown",
         "--json", str(tmp_path / "rows.json")],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"bench exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads((tmp_path / "rows.json").read_text())


@pytest.mark.slow
def test_methods_bench_runs_the_hard_task(tmp_path, tiny_models):
    # The smallest form of the hard task: the first rows of the bundled rankings sample.
    lines = (ROOT / "studio" / "resources" / "samples" / "rankings.jsonl").read_text().splitlines()[:36]
    data = tmp_path / "rankings.jsonl"
    data.write_text("\n".join(lines) + "\n")
    proc, saved = _methods_bench(tmp_path, tiny_models, "hard", data)
    assert [(r["task"], r["method"]) for r in saved] == [("rankings", "full"), ("rankings", "bitfit")]
    assert all(0 < r["trainable"] <= r["total"] and 0.0 <= r["accuracy"] <= 1.0 for r in saved)
    # Each method runs at its own default classification rate (what a config without one gets).
    from studio.methods.rates import recommended_rate

    lr = f"{recommended_rate('bitfit', 'classification'):g}".replace(".", r"\.")
    assert re.search(rf"^\| bitfit \| {lr} \| [\d,]+ \|", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^\| method \| lr \| trainable \| trainable % \| rankings acc\. \| Δ vs full \|", proc.stdout,
                     re.MULTILINE), proc.stdout
    assert re.search(r"^rankings: worst PEFT method bitfit [+-]\d+\.\d points vs full", proc.stdout, re.MULTILINE), \
        proc.stdout
    # Long runs are polled through the log: each row is reported as soon as its method finished.
    done = [json.loads(line.split(" done: ", 1)[1]) for line in proc.stderr.splitlines() if " done: " in line]
    assert [r["method"] for r in done] == ["full", "bitfit"] and done[1]["accuracy"] == saved[1]["accuracy"]


def test_methods_bench_refuses_one_data_file_for_both_tasks(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "methods.py"), "--data", str(tmp_path / "x.jsonl")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--task topics or --task hard" in proc.stderr, proc.stderr
