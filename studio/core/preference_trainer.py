"""Preference tuning's trainers: TRL's DPO, KTO and ORPO with the studio's checkpoints and ULMFiT.

Each is TRL's trainer with core/trainer.py's StudioTrainerMixin in front, exactly as StudioTrainer
is the transformers Trainer with it: atomic, rotated checkpoints holding only what the method
trains, on_checkpoint, per-layer-group rates. TRL logs its metrics (rewards/chosen, rewards/rejected,
rewards/margins, rewards/accuracies, logps/*, logits/*; eval_ prefixed on evaluation) through
Trainer.log, so the worker's recorder stores them under those names like the loss.
"""
from __future__ import annotations

from typing import Any

from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer
from trl.experimental.orpo import ORPOConfig, ORPOTrainer

from studio.config import RunConfig
from studio.core.trainer import StudioTrainerMixin


class StudioDPOTrainer(StudioTrainerMixin, DPOTrainer):
    """TRL's DPOTrainer with the studio's checkpoints and ULMFiT recipe."""


class StudioKTOTrainer(StudioTrainerMixin, KTOTrainer):
    """TRL's KTOTrainer with the studio's checkpoints and ULMFiT recipe."""


class StudioORPOTrainer(StudioTrainerMixin, ORPOTrainer):
    """TRL's ORPOTrainer (trl.experimental in 1.16) with the studio's checkpoints and ULMFiT recipe."""


TRAINERS = {"dpo": (DPOConfig, StudioDPOTrainer), "kto": (KTOConfig, StudioKTOTrainer),
            "orpo": (ORPOConfig, StudioORPOTrainer)}


def preference_arguments(cfg: RunConfig) -> tuple[type, dict[str, Any]]:
    """(TRL config class, its preference-specific kwargs) for this run's loss.

    The common TrainingArguments come from train.training_arguments; these add the loss's own,
    and undo TRL's defaults that differ from the Trainer's (gradient checkpointing on, bf16 on)."""
    pref = cfg.preference
    config_class, _ = TRAINERS[pref.loss]
    kwargs: dict[str, Any] = {"beta": pref.beta, "max_length": cfg.data.max_length,
                              "gradient_checkpointing": False, "disable_dropout": True}
    if pref.loss == "dpo":
        losses, weights = [pref.dpo_loss_type], [1.0]
        if pref.ftx > 0:  # LLaMA-Factory's pref_ftx: DPO plus a weighted SFT loss on the chosen answers
            losses, weights = losses + ["sft"], weights + [pref.ftx]
        kwargs.update(loss_type=losses, loss_weights=weights, label_smoothing=pref.label_smoothing)
    elif pref.loss == "kto":
        kwargs.update(loss_type=pref.kto_loss_type, desirable_weight=pref.desirable_weight,
                      undesirable_weight=pref.undesirable_weight)
    return config_class, kwargs


def preference_trainer(cfg: RunConfig, model: Any, args: Any, mixin: type | None = None, **kwargs: Any) -> Any:
    """The run's trainer: TRL's for the loss, with the reference = the base (core/preference_reference.py).

    `kwargs` are the Trainer and StudioTrainerMixin kwargs run_training passes to StudioTrainer."""
    from studio.core.preference_reference import reference_for

    _, trainer_class = TRAINERS[cfg.preference.loss]
    if mixin is not None:  # e.g. the LR range test's sweep schedule (core/lr_find.py) in front of it
        trainer_class = type(f"{mixin.__name__}{trainer_class.__name__}", (mixin, trainer_class), {})
    if cfg.preference.uses_reference:
        kwargs["ref_model"] = reference_for(model, cfg.method.name)
    return trainer_class(model=model, args=args, **kwargs)
