"""bench/preference.py at its smallest: one of our own methods (BitFit) DPO-trained for 2 steps on a tiny model
in-process, its row and answers printed (nothing about quality is asserted: only that it works)."""
from __future__ import annotations

import argparse
import importlib.util
import math

import pytest

from tests.conftest import ROOT, write_jsonl


def _bench():
    spec = importlib.util.spec_from_file_location("preference_bench", ROOT / "bench" / "preference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_one_method_trains_and_prints_reward_accuracy_margin_and_answers(tiny_models, tmp_path, one_thread_seeded):
    bench = _bench()
    pairs = [{"prompt": f"Greet sailor {i}.", "chosen": f"Arr, ahoy {i}!", "rejected": f"Hello {i}."}
             for i in range(20)]
    args = argparse.Namespace(model=str(tiny_models["gpt2"]), data=str(write_jsonl(tmp_path / "p.jsonl", pairs)),
                              steps=2, batch=2, lr=None, beta=0.1, max_length=48, seed=0,
                              models_dir=str(tmp_path / "models"), answers=1)
    row = bench.train_one("bitfit", args)
    assert row["steps"] == 2 and 0 < row["trainable"] < row["total"]
    assert row["accuracy_before"] == 0.0 and row["margin_before"] == 0.0  # policy = reference at step 0
    assert 0.0 <= row["accuracy"] <= 1.0 and math.isfinite(row["margin"])
    assert len(row["answers"]) == 1 and isinstance(row["answers"][0], str)
    table = bench.table([row, {"method": "lora", "error": "exit 1: boom"}], markdown=True).splitlines()
    assert table[0].startswith("| method | lr | trainable % | reward acc. before | reward acc. after")
    assert table[2].startswith("| bitfit |") and f"| {row['accuracy']:.2f} |" in table[2]
    assert table[3].startswith("| lora | exit 1: boom |")
    text = bench.answers_text(["base says hi"], [row], 1)
    assert "base:    base says hi" in text and f"bitfit   {row['answers'][0]}" in text
