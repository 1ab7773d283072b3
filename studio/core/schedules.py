"""Learning-rate schedules and the ULMFiT recipe (Howard & Ruder 2018) as pure functions.

Pure Python on purpose (no torch, no transformers): the trainer turns these into a LambdaLR and
the GUI plots the very same numbers before a run starts. Steps are 0-based optimizer steps; the
learning rate of step t is the one the optimizer uses for its (t+1)-th update, i.e. what a torch
LambdaLR gives after t scheduler steps.

ULMFiT's three parts:
- slanted triangular learning rates (``stlr``): a short linear rise, then a long linear decay;
- discriminative fine-tuning (``discriminative_factors``): each lower layer group learns at the
  rate of the group above divided by ``decay`` (the paper's 2.6);
- gradual unfreezing (``unfrozen_groups``): only the top group trains at first, one more group
  joins every ``stage_steps`` optimizer steps (the paper: every epoch).
"""
from __future__ import annotations

import math
from typing import Any

SCHEDULE_NAMES = ("linear", "cosine", "constant", "stlr")


def stlr(step: int, total: int, cut_frac: float = 0.1, ratio: float = 32.0) -> float:
    """Slanted triangular LR factor at `step` of `total` (lr = lr_max × factor).

    cut = ⌊T·cut_frac⌋; p = t/cut while t < cut, else 1 − (t − cut)/(cut·(1/cut_frac − 1));
    factor = (1 + p·(ratio − 1))/ratio: 1/ratio at step 0, 1 at step cut, back to 1/ratio at T.
    p is clamped to [0, 1], so steps past T stay at the floor 1/ratio. When T is so short that
    cut == 0 (T·cut_frac < 1) there is no rise: the factor starts at its peak and decays
    linearly over the whole run, p = 1 − t/T.
    """
    if total < 1:
        raise ValueError(f"total must be >= 1, got {total}")
    if not 0.0 < cut_frac <= 1.0:
        raise ValueError(f"cut_frac must be in (0, 1], got {cut_frac}")
    if ratio < 1.0:
        raise ValueError(f"ratio must be >= 1, got {ratio}")
    cut = math.floor(total * cut_frac)
    if cut == 0:
        p = 1.0 - step / total
    elif step < cut:
        p = step / cut
    else:
        decay_len = cut * (1.0 / cut_frac - 1.0)
        p = 1.0 - (step - cut) / decay_len if decay_len > 0 else 1.0
    p = min(1.0, max(0.0, p))
    return (1.0 + p * (ratio - 1.0)) / ratio


def warmup_steps(total: int, warmup_ratio: float) -> int:
    """Warm-up steps as transformers' TrainingArguments.get_warmup_steps counts them."""
    return int(warmup_ratio) if warmup_ratio >= 1 else math.ceil(total * warmup_ratio)


def schedule_factor(schedule: str, step: int, total: int, warmup: int = 0, *,
                    cut_frac: float = 0.1, ratio: float = 32.0) -> float:
    """LR factor of `schedule` at `step` (0-based) of `total`, after `warmup` linear warm-up steps.

    linear / cosine / constant equal transformers' get_linear_schedule_with_warmup,
    get_cosine_schedule_with_warmup (half a cycle) and get_constant_schedule_with_warmup.
    stlr has its own rise (cut_frac) and ignores `warmup`.
    """
    if schedule == "stlr":
        return stlr(step, total, cut_frac, ratio)
    if schedule not in SCHEDULE_NAMES:
        raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULE_NAMES)}")
    if step < warmup:
        return float(step) / float(max(1, warmup))
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def discriminative_factors(n_groups: int, decay: float | None) -> list[float]:
    """LR multiplier per layer group, bottom to top: top = 1, each lower group ÷ decay.

    η_{l−1} = η_l / decay, so group i of n gets decay^−(n−1−i); decay None (or 1) gives all ones.
    """
    if n_groups < 0:
        raise ValueError(f"n_groups must be >= 0, got {n_groups}")
    if decay is None:
        return [1.0] * n_groups
    if decay <= 0:
        raise ValueError(f"decay must be > 0, got {decay}")
    return [decay ** -(n_groups - 1 - i) for i in range(n_groups)]


def unfrozen_groups(step: int, n_groups: int, stage_steps: int | None) -> int:
    """How many layer groups, counted from the top, train at optimizer step `step` (0-based).

    1 at the start, one more every `stage_steps` steps, never more than n_groups.
    stage_steps None means no gradual unfreezing: every group trains from the start.
    """
    if stage_steps is None:
        return n_groups
    if stage_steps < 1:
        raise ValueError(f"stage_steps must be >= 1, got {stage_steps}")
    return max(0, min(n_groups, 1 + step // stage_steps))


def unfreeze_interval(gradual_unfreezing: bool, unfreeze_every: int | None,
                steps_per_epoch: int | None) -> int | None:
    """Steps between two unfreezings: unfreeze_every, else one epoch; None when unfreezing is off."""
    if not gradual_unfreezing:
        return None
    if unfreeze_every is not None:
        return unfreeze_every
    if steps_per_epoch is None:
        raise ValueError("gradual unfreezing every epoch needs steps_per_epoch")
    return max(1, steps_per_epoch)


def optimizer_steps_per_epoch(n_examples: int, batch_size: int, gradient_accumulation: int) -> int:
    """Optimizer steps in one pass over the data: ⌈n / (batch × accumulation)⌉ (at least 1)."""
    return max(1, math.ceil(n_examples / (batch_size * gradient_accumulation)))


def group_learning_rates(step: int, total: int, base_lr: float, n_groups: int, *,
                         schedule: str = "linear", warmup_ratio: float = 0.0,
                         discriminative_decay: float | None = None, gradual_unfreezing: bool = False,
                         unfreeze_every: int | None = None, cut_frac: float = 0.1, ratio: float = 32.0,
                         steps_per_epoch: int | None = None) -> list[float]:
    """The LR of every layer group (bottom to top) at optimizer step `step`; 0 for frozen groups.

    This is exactly what StudioTrainer's optimizer holds for each layer group at that step (and
    what the wizard plots): base_lr × schedule factor × discriminative factor × (unfrozen? 1 : 0).
    """
    factor = schedule_factor(schedule, step, total, warmup_steps(total, warmup_ratio),
                             cut_frac=cut_frac, ratio=ratio)
    every = unfreeze_interval(gradual_unfreezing, unfreeze_every, steps_per_epoch)
    training = unfrozen_groups(step, n_groups, every)
    return [base_lr * factor * d if i >= n_groups - training else 0.0
            for i, d in enumerate(discriminative_factors(n_groups, discriminative_decay))]


def learning_rate_table(total: int, base_lr: float, n_groups: int, **spec: Any) -> list[list[float]]:
    """group_learning_rates for every step 0..total−1: table[step][group], groups bottom to top."""
    return [group_learning_rates(step, total, base_lr, n_groups, **spec) for step in range(total)]


def schedule_spec(training: Any) -> dict[str, Any]:
    """The keyword arguments of group_learning_rates taken from a TrainingSpec (duck-typed)."""
    u = training.ulmfit
    return {"schedule": training.schedule, "warmup_ratio": training.warmup_ratio,
            "discriminative_decay": u.discriminative_decay, "gradual_unfreezing": u.gradual_unfreezing,
            "unfreeze_every": u.unfreeze_every, "cut_frac": u.cut_frac, "ratio": u.ratio}
