"""Real learning on the real sample models shipped as packages (no hub): slow, but it is the point."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from studio.store import metrics, runs
from studio.store.db import open_db
from tests.conftest import studio, write_config

SAMPLES = Path(__file__).resolve().parents[1] / "studio" / "resources" / "samples"


@pytest.mark.slow
def test_lora_on_minilm_beats_the_majority_class_clearly(tmp_path, home):
    cfg = write_config(
        tmp_path, name="minilm-topics", task="classification", model="sample:minilm",
        data={"train": str(SAMPLES / "topics.jsonl"), "max_length": 48},
        method={"name": "lora", "r": 8, "alpha": 16},
        # 40 steps (640 rows, under one epoch) reach 0.96 on the held-out rows with seed 0, far past
        # the bar; 80 steps (1.00) proved nothing more and cost the suite twice the training time.
        training={"max_steps": 40, "batch_size": 16, "learning_rate": 2e-3, "eval_steps": 20,
                  "save_steps": 20, "warmup_ratio": 0.1})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 0, proc.stderr
    db = open_db(home.db_path)
    (run,) = runs.list_runs(db)
    acc = metrics.get_metrics(db, run["id"], name="eval_accuracy")
    labels = Counter(json.loads(line)["label"] for line in (SAMPLES / "topics.jsonl").open())
    majority = max(labels.values()) / sum(labels.values())
    assert acc[0]["step"] == 0 and acc[-1]["step"] == 40
    print(f"eval accuracy before {acc[0]['value']:.3f} after {acc[-1]['value']:.3f}, majority {majority:.3f}")
    assert acc[-1]["value"] >= majority + 0.4  # 4 balanced classes: majority 0.25, we need >= 0.65
