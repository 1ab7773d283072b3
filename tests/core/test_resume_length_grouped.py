"""A classification run (length-grouped batches) paused and resumed trains on the same batches as one
that never stopped: the same loss at every step, dropout on.

transformers' LengthGroupedSampler drew its order from the global RNG, which a resume restores only
after the sampler has run, so the resumed run skipped into another order (step 8 logged 0.66 where
the straight run logged 1.26). core/trainer.py seeds it by (data seed, epoch)."""
from __future__ import annotations

from transformers import TrainerCallback

from studio.config import RunConfig
from studio.core.train import NullReporter, run_training
from studio.core.trainer import SeededLengthGroupedSampler
from tests.conftest import write_jsonl


class Losses(NullReporter):
    def __init__(self, pause_at: int | None = None):
        self.losses: dict[int, float] = {}
        self.stop_reason = None
        reporter = self

        class _Watch(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    reporter.losses[state.global_step] = logs["loss"]

            def on_step_end(self, args, state, control, **kw):
                if state.global_step == pause_at:
                    control.should_training_stop = control.should_save = True
                    reporter.stop_reason = "paused"

        self.callbacks = [_Watch()]


def test_a_paused_classification_run_resumes_on_the_same_batches(tmp_path, tiny_models):
    # Texts of different lengths, so length grouping has something to order; 6 steps per epoch.
    rows = [{"text": " ".join([w] * (1 + i % 5)) + f" {i}", "label": lab}
            for i in range(8) for w, lab in (("good", "pos"), ("bad", "neg"), ("so-so", "neutral"))]
    data = write_jsonl(tmp_path / "cls.jsonl", rows)

    def cfg(name):
        return RunConfig.from_dict({
            "name": name, "task": "classification", "model": str(tiny_models["bert"]),
            "data": {"train": str(data), "max_length": 16}, "method": {"name": "lora", "dropout": 0.1},
            "training": {"max_steps": 10, "batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
                         "save_steps": 8, "eval_steps": 100, "seed": 0, "device": "cpu"}})

    straight = Losses()
    run_training(cfg("a"), tmp_path / "a", tmp_path / "models", reporter=straight)
    first, rest = Losses(pause_at=8), Losses()  # paused in the second epoch
    run_training(cfg("b"), tmp_path / "b", tmp_path / "models", reporter=first)
    run_training(cfg("b"), tmp_path / "b", tmp_path / "models", reporter=rest, resume=True)
    assert sorted(first.losses) == list(range(1, 9)) and sorted(rest.losses) == [9, 10]
    assert {**first.losses, **rest.losses} == straight.losses


def test_the_seeded_order_changes_with_the_epoch_and_only_with_it():
    class Inner:
        lengths, batch_size = [1, 5, 2, 8, 3, 9, 4, 7, 6, 10, 2, 3] * 4, 4

    sampler = SeededLengthGroupedSampler(Inner(), seed=0)
    epoch0, again = list(sampler), list(sampler)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch0 == again and sorted(epoch0) == sorted(epoch1) == list(range(48)) and epoch0 != epoch1
