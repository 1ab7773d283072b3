"""The retry loop around real (tiny) training, in-process: the failed attempt's model is freed, and the
resumed run sees the same data at the same optimizer steps as a run that never ran out of memory."""
from __future__ import annotations

import gc
import weakref

from transformers import TrainerCallback

from studio.config import RunConfig
from studio.core import checkpoints, faults
from studio.core.train import NullReporter, run_training
from studio.worker import oom
from tests.conftest import instruction_rows, write_jsonl


def _cfg(tmp_path, model) -> RunConfig:
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(40))  # <= 50 rows: no eval split
    return RunConfig.from_dict({
        "name": "o", "task": "causal-lm", "model": str(model), "data": {"train": str(data), "max_length": 32},
        "method": {"name": "lora", "r": 4, "alpha": 8, "dropout": 0.0},  # no dropout: steps compare exactly
        "training": {"max_steps": 8, "batch_size": 4, "learning_rate": 5e-3, "save_steps": 3, "eval_steps": 100,
                     "seed": 0, "device": "cpu"}})


class Watch(TrainerCallback):
    """Keeps each step's train loss and a weak reference to the model being trained."""

    def __init__(self):
        self.losses: dict[int, float] = {}
        self.model = None

    def on_train_begin(self, args, state, control, model=None, **kw):
        self.model = weakref.ref(model)

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            self.losses[state.global_step] = logs["loss"]


class Reporter(NullReporter):
    def __init__(self, *callbacks):
        self.callbacks = list(callbacks)
        self.stop_reason = None


def test_retry_frees_the_failed_model_and_resumes_at_the_same_step_and_data(tmp_path, tiny_models, monkeypatch,
                                                                            one_thread_seeded):
    cfg = _cfg(tmp_path, tiny_models["llama"])
    plain = Watch()
    run_training(cfg, tmp_path / "plain", tmp_path / "models", reporter=Reporter(plain))

    monkeypatch.setenv(faults.OOM_AT_STEP, "5")
    monkeypatch.setenv(faults.OOM_WHILE_BATCH_ABOVE, "2")
    run_dir, watches, freed = tmp_path / "retried", [], []

    def attempt(c, step_watch):
        watches.append(Watch())
        latest = checkpoints.latest_checkpoint(run_dir)
        return run_training(c, run_dir, tmp_path / "models", reporter=Reporter(watches[-1], step_watch),
                            resume=latest is not None)

    def on_retry(smaller, step):
        gc.collect()
        freed.append((step, watches[-1].model() is None, checkpoints.latest_checkpoint(run_dir)[0]))

    outcome = oom.train_retrying(cfg, attempt, on_retry)
    assert outcome.status == "completed" and outcome.step == 8
    assert freed == [(5, True, 3)]  # nothing keeps the model that ran out of memory alive
    first, second = watches
    assert sorted(first.losses) == [1, 2, 3, 4] and sorted(second.losses) == [4, 5, 6, 7, 8]
    # Steps 4..8 again from checkpoint 3 with micro-batch 2 × 2: the same examples per step, so the
    # same losses as the run that never failed (up to summation order).
    for step in range(1, 9):
        got = (first.losses if step <= 3 else second.losses)[step]
        assert abs(got - plain.losses[step]) < 1e-4 * max(1.0, plain.losses[step]), step
