"""End to end through the real CLI and detached workers, on tiny models built from configs."""
from __future__ import annotations

import json
import os
import signal

import pytest

from studio.store import checkpoints as store_ckpts
from studio.store import metrics, runs
from studio.store.db import open_db
from tests.conftest import instruction_rows, studio, wait_for, write_config, write_jsonl


def _config(tmp_path, model, **overrides):
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(80))
    return write_config(tmp_path, model=str(model), data={"train": str(data), "max_length": 32},
                        **overrides)


def _run_json(home, run_id):
    proc = studio(home, "show", str(run_id), "--json", check=True)
    return json.loads(proc.stdout)


def test_train_completes_records_metrics_and_saves_a_peft_adapter(tmp_path, home, tiny_models):
    cfg = _config(tmp_path, tiny_models["llama"])
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 0, proc.stderr
    db = open_db(home.db_path)
    (run,) = runs.list_runs(db)
    assert run["status"] == "completed" and run["step"] == 10 and run["max_steps"] == 10
    names = set(metrics.metric_names(db, run["id"]))
    assert {"train_loss", "lr", "grad_norm", "epoch", "tokens_per_s", "rss_bytes", "eval_loss"} <= names
    losses = metrics.get_metrics(db, run["id"], name="train_loss")
    assert [m["step"] for m in losses] == list(range(1, 11))  # logged every step, once each
    evals = metrics.get_metrics(db, run["id"], name="eval_loss")
    assert evals[0]["step"] == 0  # the 'before' evaluation
    assert evals[-1]["value"] < evals[0]["value"]

    (adapter,) = json.loads(studio(home, "adapters", "--json", check=True).stdout)
    assert adapter["run_id"] == run["id"] and adapter["method"] == "lora"
    assert 0 < adapter["trainable_params"] < adapter["total_params"]
    folder = adapter["path"]
    assert {"adapter_config.json", "adapter_model.safetensors", "studio.json"} <= set(os.listdir(folder))

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, folder)(ids).logits
    assert not torch.allclose(before, tuned)  # the adapter learned something and loads in plain PEFT


def test_kill_minus_9_then_resume_continues_exactly(tmp_path, home, tiny_models):
    cfg = _config(tmp_path, tiny_models["gpt2"],
                  training={"max_steps": 400, "save_steps": 20, "eval_steps": 400, "learning_rate": 2e-3})
    run_id = int(studio(home, "train", str(cfg), "--detach", check=True).stdout.strip())
    db = open_db(home.db_path)

    def past_a_checkpoint():
        ck = store_ckpts.list_checkpoints(db, run_id)
        run = runs.get_run(db, run_id)
        return ck and run["step"] > ck[-1]["step"] and run["status"] == "running" and run

    run = wait_for(past_a_checkpoint, timeout=180, what="a checkpoint and a few more steps")
    os.kill(run["pid"], signal.SIGKILL)
    listed = wait_for(lambda: [r for r in json.loads(studio(home, "runs", "--json").stdout)
                               if r["id"] == run_id and r["status"] == "crashed"], timeout=30,
                      interval=0.5, what="crashed status")
    assert "checkpoint" in listed[0]["error"]
    ck_step = store_ckpts.list_checkpoints(db, run_id)[-1]["step"]
    loss_before_crash = metrics.get_metrics(db, run_id, name="train_loss")
    first_loss = loss_before_crash[0]["value"]

    proc = studio(home, "resume", str(run_id))
    assert proc.returncode == 0, proc.stderr
    run = runs.get_run(db, run_id)
    assert run["status"] == "completed" and run["step"] == 400
    losses = metrics.get_metrics(db, run_id, name="train_loss")
    steps = [m["step"] for m in losses]
    assert steps == sorted(set(steps)) and steps[-1] == 400  # no duplicate steps
    resumed = [m["value"] for m in losses if ck_step < m["step"] <= ck_step + 5]
    at_checkpoint = [m["value"] for m in losses if ck_step - 5 < m["step"] <= ck_step]
    # Continues where it was: no jump back towards the initial loss.
    assert max(resumed) < first_loss
    assert abs(sum(resumed) / len(resumed) - sum(at_checkpoint) / len(at_checkpoint)) < 0.5 * (
        first_loss - min(at_checkpoint))


def test_pause_frees_the_worker_and_resume_completes(tmp_path, home, tiny_models, monkeypatch):
    import threading

    import psutil

    from studio.core import faults
    from studio.store import commands

    # The worker holds after each step while this file exists, so the pause surely lands mid-run
    # (it used to get 400 steps for that); the file goes once the pause command is in the store.
    hold = tmp_path / "hold"
    hold.touch()
    monkeypatch.setenv(faults.HOLD_WHILE_FILE, str(hold))
    cfg = _config(tmp_path, tiny_models["gpt2"], training={"max_steps": 12, "save_steps": 100})
    run_id = int(studio(home, "train", str(cfg), "--detach", check=True).stdout.strip())
    db = open_db(home.db_path)
    run = wait_for(lambda: (r := runs.get_run(db, run_id))["step"] >= 1 and r, timeout=180,
                   what="training to start")
    done: list = []
    pausing = threading.Thread(target=lambda: done.append(studio(home, "pause", str(run_id))))
    pausing.start()
    wait_for(lambda: commands.pending_command(db, run_id), timeout=120, what="the pause command")
    # The worker's writer thread reads commands right after each heartbeat: two heartbeats after the
    # command is stored, it has surely read it (released sooner, the 11 steps left could outrun it).
    beats = [runs.get_run(db, run_id)["heartbeat_at"]]

    def two_new_heartbeats() -> bool:
        beat = runs.get_run(db, run_id)["heartbeat_at"]
        if beat != beats[-1]:
            beats.append(beat)
        return len(beats) >= 3

    wait_for(two_new_heartbeats, timeout=120, what="the worker to read the pause command")
    hold.unlink()
    pausing.join(300)
    (proc,) = done
    assert proc.returncode == 0, proc.stderr
    run = runs.get_run(db, run_id)
    assert run["status"] == "paused"
    assert not psutil.pid_exists(run["pid"]) or psutil.Process(run["pid"]).status() == psutil.STATUS_ZOMBIE
    ck = store_ckpts.list_checkpoints(db, run_id)
    assert ck and ck[-1]["step"] == run["step"] < 12  # a complete checkpoint at the pause step
    assert (home.run_dir(run_id) / "checkpoints" / f"checkpoint-{run['step']}" / "COMPLETE").is_file()
    assert studio(home, "resume", str(run_id)).returncode == 0
    run = runs.get_run(db, run_id)
    assert run["status"] == "completed" and run["step"] == 12


def test_stop_cancels_a_run(tmp_path, home, tiny_models):
    cfg = _config(tmp_path, tiny_models["gpt2"], training={"max_steps": 2000})
    run_id = int(studio(home, "train", str(cfg), "--detach", check=True).stdout.strip())
    db = open_db(home.db_path)
    wait_for(lambda: runs.get_run(db, run_id)["step"] >= 2, timeout=180, what="training to start")
    assert studio(home, "stop", str(run_id)).returncode == 0
    assert runs.get_run(db, run_id)["status"] == "cancelled"


def test_classification_run_on_tiny_bert(tmp_path, home, tiny_models):
    rows = [{"text": f"{w} item {i}", "label": lab} for i in range(40)
            for w, lab in (("good", "pos"), ("bad", "neg"))]
    data = write_jsonl(tmp_path / "cls.jsonl", rows)
    cfg = write_config(tmp_path, task="classification", model=str(tiny_models["bert"]),
                       data={"train": str(data)}, training={"max_steps": 6, "eval_steps": 3})
    assert studio(home, "train", str(cfg)).returncode == 0
    (adapter,) = json.loads(studio(home, "adapters", "--json").stdout)
    meta = json.loads((open(os.path.join(adapter["path"], "studio.json"))).read())
    assert meta["id2label"] == {"0": "neg", "1": "pos"}
    assert "eval_accuracy" in adapter["metrics"]


def test_failure_is_recorded_not_left_running(tmp_path, home, tiny_models, monkeypatch):
    # A failure inside the worker (the test-only fault: out of memory at step 2, no retry).
    monkeypatch.setenv("STUDIO_FAULT_OOM_AT_STEP", "2")
    cfg = _config(tmp_path, tiny_models["gpt2"], training={"oom_retry": False, "device": "cpu"})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 1
    (run,) = runs.list_runs(open_db(home.db_path))
    assert run["status"] == "failed" and "Out of memory at step 2" in run["error"]


def test_a_precision_this_machine_lacks_is_refused_before_a_run_is_recorded(tmp_path, home, tiny_models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("fp16 trains where CUDA is present")
    cfg = _config(tmp_path, tiny_models["gpt2"], training={"precision": "fp16", "device": "cpu"})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 2 and "fp16 needs a CUDA device" in proc.stderr and str(cfg) in proc.stderr
    assert runs.list_runs(open_db(home.db_path)) == []


def test_runs_json_is_pure_json_on_an_empty_home(home):
    out = studio(home, "runs", "--json", check=True).stdout
    assert json.loads(out) == []


def test_full_fine_tuning_saves_a_model_plain_transformers_loads(tmp_path, home, tiny_models):
    cfg = _config(tmp_path, tiny_models["gpt2"], method={"name": "full"}, training={"max_steps": 4})
    assert studio(home, "train", str(cfg)).returncode == 0
    (adapter,) = json.loads(studio(home, "adapters", "--json").stdout)
    assert adapter["trainable_params"] == adapter["total_params"]
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(adapter["path"])
    assert sum(p.numel() for p in model.parameters()) == adapter["total_params"]


def test_ctrl_c_detaches_and_training_goes_on(tmp_path, home, tiny_models):
    import subprocess
    import sys

    from tests.conftest import ROOT

    cfg = _config(tmp_path, tiny_models["gpt2"], training={"max_steps": 400})  # enough that Ctrl-C lands mid-run
    env = dict(os.environ, STUDIO_HOME=str(home.root), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "studio", "train", str(cfg)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = open_db(home.db_path)
    wait_for(lambda: runs.list_runs(db) and runs.list_runs(db)[0]["step"] >= 2, timeout=180,
             what="training to start")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "studio stop" in err
    run_id = runs.list_runs(db)[0]["id"]
    run = wait_for(lambda: (r := runs.get_run(db, run_id))["status"] != "running" and r, timeout=180,
                   what="the detached run to finish")
    assert run["status"] == "completed" and run["step"] == 400
