"""`bash bench/gpu.sh --dry-run` runs every phase of the GPU benchmark on the CPU with a tiny model, so the
script that waits for a lent GPU never goes stale. Only that it works and prints figures is checked:
on a CPU the ratios say nothing about the GPU goals."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess

import pytest

from tests.conftest import ROOT

# Each section's closing line: `label: number (...)`.
RATIO_LINES = (
    "tokens/s ratio engine/plain",
    "peak-memory ratio engine/plain",
    "qlora peak-memory ratio qlora/lora",
    "estimate/measured ratio",
)


@pytest.mark.slow
def test_gpu_sh_dry_run_prints_every_section_with_numbers(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OUT=str(out), TMPDIR=str(tmp_path), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)  # gpu.sh must find the project by itself
    # Under 90 s on 2 idle cores; the limit leaves room for a machine busy with other work.
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--dry-run"], capture_output=True, text=True,
                          env=env, timeout=400, cwd=tmp_path)
    text = proc.stdout
    assert proc.returncode == 0, f"gpu.sh exited {proc.returncode}\n{text}\n{proc.stderr[-4000:]}"
    assert "FAILED" not in text, text

    for label in RATIO_LINES:
        match = re.search(rf"^{re.escape(label)}: (\S+) \(", text, re.MULTILINE)
        assert match, f"no '{label}: X (...)' line in:\n{text}"
        value = float(match.group(1))  # 'n/a' (a phase that failed) does not parse
        assert math.isfinite(value) and value > 0, f"{label}: {value}"
    for section in ("== 0. data", "== 1. LoRA", "== 2. QLoRA", "== 3. memory estimate", "== 4. out of memory"):
        assert section in text, f"no section '{section}' in:\n{text}"

    # Both sides of section 1 timed real tokens.
    sides = re.findall(r"^(engine lora|plain lora|engine qlora) +(\d+) +([\d.]+) +(\d+)", text, re.MULTILINE)
    assert {s[0] for s in sides} == {"engine lora", "plain lora", "engine qlora"}, text
    assert all(int(tokens) > 0 and float(seconds) > 0 for _, tokens, seconds, _ in sides), sides

    # Section 4: without retries the run fails with advice; with them it completes and says so.
    assert re.search(r"^oom-fail: training.oom_retry false -> status failed", text, re.MULTILINE), text
    assert re.search(r"^  error: Out of memory at step 1.*Try: training.batch_size", text, re.MULTILINE), text
    assert re.search(r"^oom-retry: training.oom_retry true -> status completed", text, re.MULTILINE), text
    assert re.search(r"^  warning: Out of memory at step 1: retried .* batch 2 ", text, re.MULTILINE), text

    # The same figures come back as JSON (the device tool returns $OUT), with the log beside them.
    saved = json.loads((out / "gpu_bench.json").read_text())
    assert saved["dry_run"] is True
    assert saved["engine"]["tokens"] > 0 and saved["plain"]["tokens_per_s"] > 0
    assert saved["oom-retry"]["status"] == "completed" and saved["oom-fail"]["status"] == "failed"
    assert "== 1. LoRA" in (out / "gpu_bench.log").read_text()
    assert not list(tmp_path.glob("studio-gpu-bench-*")), "the bench left its temporary folder behind"
