"""The recorder's step and metrics around checkpoints and resumes (no training: fake Trainer events)."""
from __future__ import annotations

import json
from types import SimpleNamespace

from studio.store import metrics, open_db, runs
from studio.worker.recorder import Recorder
from studio.worker.resume import restore_logged_metrics, restored_parts, resume_line


def _run(db) -> int:
    run_id = runs.create_run(db, name="r", config={}, model="m", method="lora", task="causal-lm", max_steps=240)
    runs.update_run(db, run_id, step=43)  # steps done after the last checkpoint, lost in a crash
    return run_id


def test_a_resumed_run_reads_its_checkpoint_step_at_once_not_zero(tmp_path):
    db = open_db(tmp_path / "studio.db")
    run_id = _run(db)
    recorder = Recorder(tmp_path / "studio.db", run_id, interval=0.01).start()
    try:
        recorder.resume_at(40)
        assert runs.get_run(db, run_id)["step"] == 40
        recorder.flush_now()  # heartbeats before the first new step keep it
        assert runs.get_run(db, run_id)["step"] == 40
        recorder.on_step_end(None, SimpleNamespace(global_step=41), SimpleNamespace(should_save=False))
        recorder.flush_now()
        assert runs.get_run(db, run_id)["step"] == 41
    finally:
        recorder.close()


def test_metrics_queued_before_a_checkpoint_are_committed_before_it_is_published(tmp_path):
    db = open_db(tmp_path / "studio.db")
    run_id = _run(db)
    # A writer that never wakes on its own: only the checkpoint's flush can commit the rows.
    recorder = Recorder(tmp_path / "studio.db", run_id, interval=3600)
    state = SimpleNamespace(global_step=5, num_input_tokens_seen=0)
    recorder.on_log(None, state, SimpleNamespace(should_save=False), {"loss": 1.0, "epoch": 0.5})
    assert metrics.get_metrics(db, run_id) == []
    state.global_step = 10
    recorder.on_log(None, state, SimpleNamespace(should_save=True), {"loss": 0.9, "epoch": 1.0})
    assert [(m["step"], m["name"]) for m in metrics.get_metrics(db, run_id, name="train_loss")] == [(5, "train_loss"),
                                                                                                   (10, "train_loss")]


def test_tokens_per_s_counts_time_inside_steps_not_evaluation_or_saving(tmp_path, monkeypatch):
    db = open_db(tmp_path / "studio.db")
    run_id = _run(db)
    recorder = Recorder(tmp_path / "studio.db", run_id, interval=3600)
    # Step 1 takes a second and is logged; 30 s of evaluation and a checkpoint; step 2 takes a second.
    clock = iter([0.0, 1.0, 1.0, 31.0, 32.0, 32.0])
    monkeypatch.setattr("studio.worker.recorder.time.time", lambda: next(clock))
    control, state = SimpleNamespace(should_save=False), SimpleNamespace(global_step=1, num_input_tokens_seen=0)
    recorder.on_step_begin(None, state, control)
    state.num_input_tokens_seen = 500
    recorder.on_step_end(None, state, control)
    recorder.on_log(None, state, control, {"loss": 1.0})
    recorder.on_step_begin(None, state, control)
    state.global_step, state.num_input_tokens_seen = 2, 1000
    recorder.on_step_end(None, state, control)
    recorder.on_log(None, state, control, {"loss": 0.9})
    recorder.flush_metrics()
    assert [(m["step"], m["value"]) for m in metrics.get_metrics(db, run_id, name="tokens_per_s")] == [(2, 500.0)]


def test_restoring_the_checkpoint_log_fills_holes_once(tmp_path):
    db = open_db(tmp_path / "studio.db")
    run_id = _run(db)
    metrics.add_metrics(db, run_id, [(1, "train_loss", 2.0, 1.0), (1, "epoch", 0.1, 1.0)])
    ckpt = tmp_path / "checkpoints" / "checkpoint-3"
    ckpt.mkdir(parents=True)
    log = [{"loss": 2.5, "epoch": 0.1, "step": 1}, {"loss": 1.9, "grad_norm": 0.5, "learning_rate": 1e-3,
                                                     "epoch": 0.2, "step": 2},
           {"loss": 1.8, "epoch": 0.3, "step": 3}, {"eval_loss": 1.7, "eval_runtime": 0.1, "epoch": 0.3, "step": 3}]
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": log}))
    assert restore_logged_metrics(db, run_id, ckpt) == 7  # steps 2 and 3 (step 1 was recorded)
    assert restore_logged_metrics(db, run_id, ckpt) == 0
    losses = metrics.get_metrics(db, run_id, name="train_loss")
    assert [(m["step"], m["value"]) for m in losses] == [(1, 2.0), (2, 1.9), (3, 1.8)]  # the live row kept
    assert {m["name"] for m in metrics.get_metrics(db, run_id)} == {"train_loss", "epoch", "grad_norm", "lr",
                                                                    "eval_loss"}


def test_the_resume_line_names_what_comes_back_from_where(tmp_path):
    ckpt = tmp_path / "run" / "checkpoints" / "checkpoint-40"
    ckpt.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth",
                 "trainer_state.json", "training_args.bin"):
        (ckpt / name).write_bytes(b"")
    assert resume_line(40, ckpt, tmp_path / "run", "classification", "lora") == (
        "resumed at step 40 from checkpoints/checkpoint-40: adapter + head weights, optimizer, scheduler, RNG")
    (ckpt / "scheduler.pt").unlink()
    assert restored_parts(ckpt, "causal-lm", "full") == ["model weights", "optimizer", "RNG"]
