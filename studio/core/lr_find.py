"""The learning-rate range test (Smith 2017; fastai's lr_find) on a throwaway copy of a run's start.

The model, method, data split, tokens, seed and batch come from core/run_setup.load_run, exactly as
the run gets them, so the sweep starts where the run will. The rate then rises exponentially from
`start` to `end` over at most `steps` optimizer steps and the sweep stops once the smoothed loss
diverges (core/lr_range.py). With ULMFiT's discriminative rates the whole ladder is scaled: the top
layer group follows the sweep, lower groups keep their ratio; with gradual unfreezing the sweep holds
the run's first stage (the groups that train at step 0), as fastai's lr_find on a frozen model does.
Nothing is saved: checkpoints are off and the Trainer's folder is a temporary one.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from transformers import TrainerCallback

from studio.config import RunConfig
from studio.core import lr_range
from studio.core.trainer import StudioTrainer


def sweep_config(cfg: RunConfig, steps: int, start: float) -> RunConfig:
    """The run's config with the sweep's schedule: base rate `start`, no warm-up, `steps` steps,
    one loss per step, and gradual unfreezing held at its first stage."""
    t, u = cfg.training, cfg.training.ulmfit
    ulmfit = replace(u, unfreeze_every=steps + 1) if u.gradual_unfreezing else u
    training = replace(t, learning_rate=start, schedule="constant", warmup_ratio=0.0, max_steps=steps, epochs=None,
                       logging_steps=1, ulmfit=ulmfit)
    return replace(cfg, training=training)


class SweepSchedule:
    """A Trainer mixin whose scheduler multiplies every param group's own rate by the sweep's factor."""

    def __init__(self, *args: Any, sweep_factor: Callable[[int], float], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sweep_factor = sweep_factor

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        if self.lr_scheduler is None:
            from torch.optim.lr_scheduler import LambdaLR

            self.lr_scheduler = LambdaLR(optimizer if optimizer is not None else self.optimizer, self.sweep_factor)
            self._created_lr_scheduler = True
        return self.lr_scheduler


class SweepTrainer(SweepSchedule, StudioTrainer):
    """StudioTrainer with the sweep's scheduler (causal-lm and classification)."""


class SweepRecorder(TrainerCallback):
    """Keeps (rate, loss) per optimizer step and stops the Trainer once the smoothed loss diverges."""

    def __init__(self, steps: int, on_point: Callable[[int, float, float], None] | None = None):
        self.steps, self.on_point = steps, on_point
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged_at: int | None = None

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
               **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return
        self.lrs.append(float(logs["learning_rate"]))  # the top group's rate this step used
        self.losses.append(float(logs["loss"]))
        self.smoothed = lr_range.smooth(self.losses)
        if self.on_point is not None:
            self.on_point(len(self.losses), self.lrs[-1], self.losses[-1])
        if lr_range.diverged(self.smoothed):
            self.diverged_at = len(self.losses)
            control.should_training_stop = True


def lr_find(cfg: RunConfig, models_dir: Path, *, steps: int = 100, start: float = 1e-7, end: float = 1.0,
            reporter: Any = None, on_point: Callable[[int, float, float], None] | None = None) -> dict[str, Any]:
    """Run the range test for `cfg` and return the sweep, both proposals and the suggestion."""
    import transformers
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_utils import SaveStrategy

    from studio.core.input_grads import DropInputGrads
    from studio.core.run_setup import load_run, use_batch_plan
    from studio.core.tokenize import make_collator
    from studio.core.train import NullReporter, training_arguments

    lr_range.sweep_rate(0, steps, start, end)  # refuses a bad range before anything is loaded
    reporter = reporter or NullReporter()
    sweep = sweep_config(cfg, steps, start)
    transformers.set_seed(sweep.training.seed)  # the run's seed: the same head init and data order
    parts = load_run(sweep, Path(models_dir), reporter)
    recorder = SweepRecorder(steps, on_point)
    with tempfile.TemporaryDirectory(prefix="studio-lr-find-") as tmp:
        preference = sweep.task == "preference"  # the sweep then trains the run's own DPO/KTO/ORPO loss
        if preference:  # TRL is imported only for preference runs
            from studio.core.preference_trainer import preference_arguments, preference_trainer
        args_class, task_args = preference_arguments(sweep) if preference else (None, None)
        args = training_arguments(sweep.training, Path(tmp), steps, False, parts.device, parts.precision,
                                  eval_on_start=False, speed=parts.speed, args_class=args_class, extra=task_args)
        args.save_strategy = SaveStrategy.NO
        args.logging_nan_inf_filter = False  # a diverging loss must be seen, not averaged away
        common = dict(args=args, train_dataset=parts.train_ds, processing_class=parts.tokenizer,
                      callbacks=[recorder], run_dir=Path(tmp), keep_checkpoints=1, training=sweep.training,
                      layer_groups=parts.ulmfit_groups,
                      sweep_factor=lambda s: lr_range.sweep_rate(s, steps, 1.0, end / start))
        if preference:
            trainer = preference_trainer(sweep, parts.model, mixin=SweepSchedule, **common)
        else:
            trainer = SweepTrainer(model=parts.model, data_collator=make_collator(parts.tokenizer, sweep.task),
                                   **common)
            use_batch_plan(trainer, sweep, parts, reporter)
        trainer.remove_callback(PrinterCallback)  # its log dicts on stdout would break `--json`
        if sweep.training.checkpoint_every:
            trainer.add_callback(DropInputGrads())
        reporter.stage("sweeping the learning rate")
        trainer.train()
    return summarize(cfg, recorder, steps, start, end, parts)


def summarize(cfg: RunConfig, recorder: SweepRecorder, steps: int, start: float, end: float,
              parts: Any) -> dict[str, Any]:
    """The JSON `studio lr-find --json` prints and the store keeps."""
    from studio.core.schedules import discriminative_factors

    names = [g for g, _ in parts.ulmfit_groups or []]
    factors = discriminative_factors(len(names), cfg.training.ulmfit.discriminative_decay)
    proposal = lr_range.suggest(recorder.lrs, recorder.losses)
    region = lr_range.falling_region(recorder.lrs, recorder.losses)
    return {
        "config_hash": lr_range.config_hash(cfg.to_dict()),
        "model": cfg.model, "method": cfg.method.name, "task": cfg.task,
        "steps": steps, "start": start, "end": end, "steps_run": len(recorder.losses),
        "stopped": "diverged" if recorder.diverged_at else "end of sweep",
        "lrs": recorder.lrs, "losses": [x if math.isfinite(x) else None for x in recorder.losses],
        "smoothed": [x if math.isfinite(x) else None for x in recorder.smoothed],
        "falling": list(region) if region else None,
        # ULMFiT: the suggestion is the top group's peak; each lower group trains at factor × it
        "layer_groups": [{"name": n, "factor": f} for n, f in zip(names, factors)],
        "gradual_unfreezing": cfg.training.ulmfit.gradual_unfreezing,
        "trainable_params": parts.trainable, "total_params": parts.total,
        **proposal,
    }
