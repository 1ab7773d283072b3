"""The training recipe, top to bottom: setup → (resume) → Trainer loop → save → outcome.

No SQLite and no Qt here: everything the outside world hears goes through a Reporter (the worker's
recorder writes it to the store; benches and tests can pass NullReporter).
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from studio import __version__
from studio.config import RunConfig, TrainingSpec
from studio.core import checkpoints, distributed, faults  # faults: test-only, inert unless STUDIO_FAULT_* is set
from studio.methods.saving import uses_own_format


@dataclass
class TrainOutcome:
    """How a training call ended."""

    status: str  # completed | paused | cancelled
    step: int
    max_steps: int
    trainable_params: int
    total_params: int
    adapter_dir: Path | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    first_metrics: dict[str, float] = field(default_factory=dict)  # the eval before training, if any


class NullReporter:
    """A reporter that hears nothing and never asks to stop (for benches and plain use)."""

    stop_reason: str | None = None
    callbacks: list = []

    def stage(self, text: str) -> None: ...
    def warn(self, messages: list[str]) -> None: ...
    def set_max_steps(self, steps: int, trainable: int, total: int) -> None: ...
    def checkpoint_saved(self, step: int, path: Path, removed: list[int]) -> None: ...


def run_training(cfg: RunConfig, run_dir: Path, models_dir: Path, *, reporter: Any = None,
                 resume: bool = False, adapter_dir: Callable[[], Path] | None = None) -> TrainOutcome:
    """Fine-tune as `cfg` says; resume from the newest complete checkpoint when asked."""
    import transformers

    from studio.core.distributed_callbacks import rank_callbacks
    from studio.core.input_grads import DropInputGrads
    from studio.core.run_setup import load_run, use_batch_plan
    from studio.core.tokenize import make_collator
    from studio.core.trainer import StudioTrainer, accuracy_metrics, argmax_logits
    from studio.core.ulmfit_guards import run_warnings

    reporter = reporter or NullReporter()
    run_dir = Path(run_dir)
    world = distributed.world()  # rank 0 of 1 unless torchrun started this process (core/distributed.py)
    if world.main:  # the run folder is rank 0's; the others write only their checkpoint parts
        checkpoints.clean_leftovers(run_dir)
    distributed.use_local_device(world, pick_device(cfg.training)[0])
    transformers.set_seed(cfg.training.seed)

    # --- data, model, method and tokens (core/run_setup.py; the LR range test starts there too)
    parts = load_run(cfg, Path(models_dir), reporter)
    data, folder, tokenizer, model, train_ds, eval_ds = (parts.data, parts.folder, parts.tokenizer, parts.model,
                                                         parts.train_ds, parts.eval_ds)
    device, precision, speed, ulmfit_groups = parts.device, parts.precision, parts.speed, parts.ulmfit_groups
    trainable, total, save, warnings = parts.trainable, parts.total, parts.save, parts.warnings
    reporter.warn(list(data.warnings) + warnings)
    max_steps = resolve_max_steps(cfg.training, len(train_ds))
    reporter.set_max_steps(max_steps, trainable, total)
    # ULMFiT settings that would leave layer groups unlearned (a vanishing rate, never unfrozen)
    reporter.warn(run_warnings(cfg.training, ulmfit_groups, max_steps, len(train_ds)))

    # --- the loop (the Trainer's), resumed from the newest complete checkpoint when asked
    latest = checkpoints.latest_checkpoint(run_dir) if resume else None
    preference = cfg.task == "preference"  # TRL's DPO/KTO/ORPO trainer, config and collator
    if preference:
        from studio.core.preference_trainer import preference_arguments, preference_trainer
    args_class, task_args = preference_arguments(cfg) if preference else (None, None)
    rank_args = distributed.trainer_arguments(cfg.method.name, cfg.training.distributed.strategy, device, world)
    args = training_arguments(cfg.training, run_dir, max_steps, eval_ds is not None, device, precision,
                              eval_on_start=latest is None, speed=speed, args_class=args_class,
                              extra={**(task_args or {}), **rank_args})
    effective_batch = cfg.training.batch_size * cfg.training.gradient_accumulation * world.size
    callbacks = rank_callbacks(world, list(reporter.callbacks) + faults.injected_callbacks(), reporter, run_dir,
                               effective_batch, args.device)  # several processes: kept in step
    studio_kwargs = dict(
        args=args, train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer,
        callbacks=callbacks, run_dir=run_dir,
        keep_checkpoints=cfg.training.keep_checkpoints, on_checkpoint=reporter.checkpoint_saved,
        training=cfg.training, layer_groups=ulmfit_groups,
        save_weights=save if uses_own_format(cfg.method.name) else None)
    if preference:
        trainer = preference_trainer(cfg, model, **studio_kwargs)
    else:
        is_cls = cfg.task == "classification"
        trainer = StudioTrainer(
            model=model, data_collator=make_collator(tokenizer, cfg.task),
            compute_metrics=accuracy_metrics if is_cls else None,
            preprocess_logits_for_metrics=argmax_logits if is_cls else None, **studio_kwargs)
        use_batch_plan(trainer, cfg, parts, reporter)  # packed or length-grouped batches
    distributed.check_joined(trainer.args, world)  # N processes must be one group, never N lone runs
    distributed.check_same_checkpoint(latest[0] if latest else None, world)  # all resume alike
    if cfg.training.checkpoint_every:
        trainer.add_callback(DropInputGrads())  # frozen lower blocks need no backward (core/input_grads.py)
    reporter.stage("training")
    trainer.train(resume_from_checkpoint=str(latest[1]) if latest else None)
    step = trainer.state.global_step
    outcome = TrainOutcome(reporter.stop_reason or "completed", step, max_steps, trainable, total)
    if outcome.status != "completed":
        return outcome

    # --- final evaluation and the saved adapter
    if eval_ds is not None:  # the Trainer already evaluated at the final step
        outcome.final_metrics = last_eval_metrics(trainer.state.log_history)
        outcome.first_metrics = last_eval_metrics(trainer.state.log_history[::-1])
    if distributed.is_fsdp(trainer):  # sharded: every rank helps gather, rank 0 saves the whole
        full_state = distributed.gather_state_dict(trainer)
        save = partial(_save_state_dict, full_state)
    if adapter_dir is not None:  # rank 0 only (the others get none)
        reporter.stage("saving adapter")
        meta = adapter_metadata(cfg, folder, data.label_names, outcome)
        outcome.adapter_dir = save_adapter(model, tokenizer, adapter_dir(), meta, save)
    if world.main:
        shutil.rmtree(checkpoints.staging_dir(run_dir), ignore_errors=True)
    return outcome


def _save_state_dict(state: dict[str, Any], model: Any, folder: Path) -> None:
    # FSDP: the parameters are shards; save_pretrained takes the gathered full state instead.
    model.save_pretrained(folder, state_dict=state)


def pick_device(training: TrainingSpec) -> tuple[str, str]:
    """('cuda'|'cpu', 'fp32'|'bf16'|'fp16') from the config and what this machine has."""
    import torch

    cuda = torch.cuda.is_available()
    if training.device == "cuda" and not cuda:
        raise RuntimeError("training.device is 'cuda' but no CUDA device is available")
    device = "cuda" if (training.device == "cuda" or (training.device == "auto" and cuda)) else "cpu"
    precision = training.precision
    if precision == "auto":
        precision = "bf16" if device == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp16" and device == "cpu":
        raise RuntimeError("training.precision fp16 needs a CUDA device; use fp32 or bf16 on CPU")
    return device, precision


def resolve_max_steps(training: TrainingSpec, n_examples: int) -> int:
    """Optimizer steps for this run: max_steps, or epochs × steps per epoch."""
    if training.max_steps is not None:
        return training.max_steps
    per_epoch = math.ceil(n_examples / training.batch_size / training.gradient_accumulation)
    return max(1, math.ceil(per_epoch * training.epochs))


def training_arguments(t: TrainingSpec, run_dir: Path, max_steps: int, has_eval: bool, device: str,
                       precision: str, eval_on_start: bool, speed: dict[str, Any] | None = None,
                       args_class: type | None = None, extra: dict[str, Any] | None = None) -> Any:
    """TrainingArguments (or `args_class`, a TRL config, with its `extra` kwargs) for one run;
    checkpoints are written to the staging folder first."""
    from transformers import TrainingArguments

    return (args_class or TrainingArguments)(
        output_dir=str(checkpoints.staging_dir(run_dir)),
        max_steps=max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation,
        learning_rate=t.learning_rate,
        # stlr is StudioTrainer's own LambdaLR; "constant" honours warm-up like the other schedules
        lr_scheduler_type={"stlr": "constant", "constant": "constant_with_warmup"}.get(t.schedule, t.schedule),
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        logging_steps=t.logging_steps,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=t.eval_steps,
        eval_on_start=has_eval and eval_on_start,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=None,  # StudioTrainer rotates complete checkpoints itself
        seed=t.seed,
        data_seed=t.seed,
        use_cpu=device == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        dataloader_pin_memory=device == "cuda",
        # activation checkpointing and kernels (core/speed.py) win over a TRL loss's own settings
        **{**(extra or {}), **(speed or {})},
    )


def last_eval_metrics(log_history: list[dict]) -> dict[str, float]:
    """The newest eval_* values from the Trainer's log."""
    for entry in reversed(log_history):
        if "eval_loss" in entry:
            return {k: float(v) for k, v in entry.items() if k.startswith("eval_") and
                    isinstance(v, (int, float)) and not k.endswith(("_runtime", "_per_second"))}
    return {}


def adapter_metadata(cfg: RunConfig, folder: str, label_names: list[str] | None,
                     outcome: TrainOutcome) -> dict[str, Any]:
    """studio.json: what this adapter is, so no database is needed to use it."""
    import hashlib

    config_json = Path(folder) / "config.json"
    fingerprint = hashlib.sha256(config_json.read_bytes()).hexdigest() if config_json.is_file() else None
    return {
        "studio_version": __version__,
        "method": cfg.method.name,
        "method_options": cfg.method.options,
        "task": cfg.model_task,  # what the adapter is (preference tuning makes a causal-LM adapter)
        "objective": cfg.task,  # how it was trained: causal-lm (SFT), classification or preference
        "base_model": cfg.model,
        "base_model_path": folder,
        "base_config_sha256": fingerprint,
        "id2label": dict(enumerate(label_names)) if label_names else None,
        "training": cfg.to_dict(),
        "trainable_params": outcome.trainable_params,
        "total_params": outcome.total_params,
        "steps": outcome.step,
        "final_metrics": outcome.final_metrics,
    }


def save_adapter(model: Any, tokenizer: Any, target: Path, meta: dict[str, Any],
                 save_weights: Callable[..., None] | None = None) -> Path:
    """Save in PEFT's file layout plus studio.json, atomically (temp folder, then rename)."""
    target = Path(target)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if save_weights is None:
        model.save_pretrained(tmp)
    else:
        save_weights(model, tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "studio.json").write_text(json.dumps(meta, indent=2, default=str))
    if target.exists():
        raise FileExistsError(f"adapter folder {target} already exists")
    os.replace(tmp, target)
    return target
