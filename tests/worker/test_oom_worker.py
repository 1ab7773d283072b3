"""Out of memory through the real CLI and detached workers, with the test-only fault injection
(studio/core/faults.py) standing in for a GPU that runs out."""
from __future__ import annotations

import json

import yaml

from studio.core import faults
from studio.store import metrics, runs
from studio.store.db import open_db
from studio.worker.oom import RETRY_PREFIX
from tests.conftest import instruction_rows, studio, wait_for, write_config, write_jsonl


def _config(folder, model, **training):
    folder.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(folder / "train.jsonl", instruction_rows(80))
    return write_config(folder, model=str(model), data={"train": str(data), "max_length": 32},
                        training=training)


def test_oom_retries_with_half_the_micro_batch_and_completes(tmp_path, home, tiny_models, monkeypatch):
    monkeypatch.setenv(faults.OOM_AT_STEP, "8")
    monkeypatch.setenv(faults.OOM_WHILE_BATCH_ABOVE, "2")
    cfg = _config(tmp_path, tiny_models["gpt2"], max_steps=10, batch_size=4, save_steps=5, eval_steps=5)
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 0, proc.stderr

    db = open_db(home.db_path)
    (run,) = runs.list_runs(db)
    assert run["status"] == "completed" and run["step"] == 10 and not run["error"]
    retries = [w for w in run["warnings"] if w.startswith(RETRY_PREFIX)]
    assert retries == ["Out of memory at step 8: retried from the checkpoint at step 5 with batch 2 × "
                       "accumulation 2 (effective batch 4 unchanged)"]
    shown = json.loads(studio(home, "show", str(run["id"]), "--json", check=True).stdout)
    assert shown["config"]["training"]["batch_size"] == 2
    assert shown["config"]["training"]["gradient_accumulation"] == 2
    on_disk = yaml.safe_load((home.run_dir(run["id"]) / "config.yaml").read_text())
    assert (on_disk["training"]["batch_size"], on_disk["training"]["gradient_accumulation"]) == (2, 2)
    # Steps 6 and 7 ran twice (before the failure and after the resume from step 5): kept once each.
    losses = [m["step"] for m in metrics.get_metrics(db, run["id"], name="train_loss")]
    assert losses == list(range(1, 11))
    assert [m["step"] for m in metrics.get_metrics(db, run["id"], name="eval_loss")] == [0, 5, 10]
    log = (home.run_dir(run["id"]) / "worker.log").read_text()
    assert "torch.OutOfMemoryError" in log and retries[0] in log


def test_oom_fails_with_advice_and_the_queue_moves_on(tmp_path, home, tiny_models, monkeypatch):
    monkeypatch.setenv(faults.OOM_AT_STEP, "1")  # at every micro-batch size
    no_retry = _config(tmp_path / "a", tiny_models["gpt2"], batch_size=4, oom_retry=False)
    at_one = _config(tmp_path / "b", tiny_models["gpt2"], batch_size=2)
    first = int(studio(home, "train", str(no_retry), "--detach", check=True).stdout.strip())
    second = int(studio(home, "train", str(at_one), "--detach", check=True).stdout.strip())
    db = open_db(home.db_path)
    wait_for(lambda: runs.get_run(db, second)["status"] not in ("queued", "running"), timeout=300,
             interval=0.5, what="both runs to end")

    a, b = runs.get_run(db, first), runs.get_run(db, second)
    assert a["status"] == "failed" and "\n" not in a["error"]
    assert a["error"].startswith("Out of memory at step 1, trying to allocate 2.00 GiB with batch_size 4 × "
                                 "gradient_accumulation 1. Try: training.batch_size 4 → 2 with "
                                 "gradient_accumulation 1 → 2 (keeps the effective batch 4); "
                                 "training.activation_checkpointing: on; method.name: qlora")
    assert "data.max_length 32 → 16" in a["error"]
    assert not any(w.startswith(RETRY_PREFIX) for w in a["warnings"])
    assert a["config"]["training"]["batch_size"] == 4  # oom_retry off: the config stays as written

    # The queued run started once the first had failed, retried once down to micro-batch 1, then failed.
    assert b["started_at"] >= a["finished_at"]
    assert b["status"] == "failed" and "\n" not in b["error"]
    assert [w for w in b["warnings"] if w.startswith(RETRY_PREFIX)] == [
        "Out of memory at step 1: retried from the start (no checkpoint yet) with batch 1 × accumulation 2 "
        "(effective batch 2 unchanged)"]
    assert "batch_size 1 × gradient_accumulation 2, after 1 retry" in b["error"]
    assert "training.batch_size" not in b["error"] and "activation_checkpointing: on" in b["error"]
    listed = json.loads(studio(home, "runs", "--json", check=True).stdout)
    assert {r["status"] for r in listed} == {"failed"}
