"""The first half of the recipe: data, model, method and tokens, exactly as a run gets them.

`run_training` and the learning-rate range test (core/lr_find.py) both start here, so the range
test sweeps the very model, method, split and tokens the run then trains.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from studio.config import RunConfig


@dataclass
class RunParts:
    """What the recipe has once data, model and method are loaded and the rows tokenized."""

    data: Any  # PreparedData
    folder: str
    tokenizer: Any
    device: str
    precision: str
    model: Any
    speed: dict[str, Any]  # Trainer kwargs from core/speed.py
    ulmfit_groups: list[tuple[str, list[str]]] | None
    trainable: int
    total: int
    save: Callable[..., None]  # our own methods' weight saver (used when uses_own_format)
    train_ds: Any
    eval_ds: Any
    warnings: list[str]  # tokenization warnings (truncated rows ...)


def load_run(cfg: RunConfig, models_dir: Path, reporter: Any) -> RunParts:
    """Read the data, load the model, apply the method, choose speed settings and tokenize."""
    from studio import methods
    from studio.core.data import prepare_data
    from studio.core.distributed import model_load_kwargs
    from studio.core.models import (count_parameters, ensure_pad_token_id, load_model, load_tokenizer,
                                     method_load_kwargs, model_folder)
    from studio.core.packing import log_line
    from studio.core.prefix_checkpointing import keep_prefix_under_checkpointing
    from studio.core.speed import speed_arguments
    from studio.core.tokenize import tokenize_rows
    from studio.core.train import pick_device
    from studio.core.trainer import StudioTrainer
    from studio.methods.saving import save_method_weights, trainable_names

    preference = cfg.task == "preference"  # TRL tokenizes preference rows itself (core/preference_setup.py)
    if not preference:
        reporter.stage("reading data")
        data = prepare_data(cfg.data, cfg.task, cfg.training.seed)
    reporter.stage("loading model")
    folder = model_folder(cfg.model, Path(models_dir), cfg.trust_remote_code)
    tokenizer = load_tokenizer(folder, cfg.trust_remote_code)
    if preference:
        from studio.core.preference_setup import check_causal_model, preference_rows

        check_causal_model(folder)
        reporter.stage("reading data")  # chat rows are rendered with the tokenizer's template
        data, train_ds, eval_ds = preference_rows(cfg, tokenizer)
        reporter.stage("loading model")
    device, precision = pick_device(cfg.training)
    method = methods.get(cfg.method.name)
    opts = methods.parse_options(cfg.method.name, cfg.method.options)
    model = load_model(folder, cfg.model_task, label_names=data.label_names, trust_remote_code=cfg.trust_remote_code,
                       **model_load_kwargs(cfg.training.distributed.strategy,  # FSDP: core/distributed.py
                                           method_load_kwargs(cfg.method.name, opts, device)))
    ensure_pad_token_id(model, tokenizer)
    model = method.apply(model, opts, cfg.model_task)
    # Activation checkpointing and fused kernels (core/speed.py): Trainer kwargs and one line each
    model_type = getattr(model.config, "model_type", None)
    speed, speed_lines = speed_arguments(cfg.training, device, model_type, cfg.task)
    for line in speed_lines:
        log_line(line)
    if cfg.training.checkpoint_every:
        keep_prefix_under_checkpointing(model)  # else checkpointed blocks would drop the prefix
    ulmfit_groups = StudioTrainer.ulmfit_groups(model, cfg.training)  # None unless training.ulmfit is on
    trained = trainable_names(model)  # what the method trains (gradual unfreezing toggles it later)
    trainable, total = count_parameters(model)
    save = partial(save_method_weights, method_name=cfg.method.name, opts=opts, names=trained)

    if preference:
        return RunParts(data, folder, tokenizer, device, precision, model, speed, ulmfit_groups, trainable, total,
                        save, train_ds, eval_ds, [])
    reporter.stage("tokenizing")
    label2id = {n: i for i, n in enumerate(data.label_names)} if data.label_names else None
    tok_args = dict(max_length=cfg.data.max_length, train_on_prompt=cfg.data.train_on_prompt, label2id=label2id)
    train_ds, warnings = tokenize_rows(data.train, data.format, tokenizer,
                                       source_lines=data.source_lines.get("train"), **tok_args)
    eval_ds = None
    if data.validation:
        eval_ds, more = tokenize_rows(data.validation, data.format, tokenizer,
                                      source_lines=data.source_lines.get("validation"), **tok_args)
        warnings += more
    return RunParts(data, folder, tokenizer, device, precision, model, speed, ulmfit_groups, trainable, total,
                    save, train_ds, eval_ds, warnings)


def use_batch_plan(trainer: Any, cfg: RunConfig, parts: RunParts, reporter: Any) -> None:
    """Packed rows or length-grouped ones (core/packing.py), checked once the Trainer has put the
    model on its device, where the check is cheap."""
    from studio.core.packing import apply_plan, batch_collator, example_lengths, log_line, plan_batches

    batches = plan_batches(cfg.training.packing, cfg.task, trainer.model, example_lengths(parts.train_ds),
                           cfg.training.batch_size)
    log_line(batches.line)
    reporter.warn([batches.warning] if batches.warning else [])
    trainer.data_collator = batch_collator(batches, parts.tokenizer, cfg.task)
    apply_plan(batches, trainer.args)
