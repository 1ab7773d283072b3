"""Warnings for ULMFiT settings that silently stop layer groups from learning (pure Python).

Two traps seen in practice: a discriminative decay chosen for a 6-layer model carried over to a
30-layer one gives the embeddings 2.6^-31 ≈ 1e-13 of the peak rate; and gradual unfreezing at its
default interval (one epoch per group) leaves the lower groups frozen for the whole of a short run.
`studio train`, the worker (as run warnings) and the wizard (a label, and the preview marks the
groups) all call `ulmfit_problems`, so they say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.core.schedules import (discriminative_factors, optimizer_steps_per_epoch, unfreeze_interval,
                                   unfrozen_groups)

MIN_SHARE = 1e-3  # a group below this share of the peak rate hardly moves in a fine-tuning run


@dataclass(frozen=True)
class UlmfitProblem:
    """One warning and the layer groups (by name, bottom to top) it is about."""

    key: str  # the config key to change, e.g. training.ulmfit.discriminative_decay
    message: str
    groups: tuple[str, ...]


def ulmfit_problems(training: Any, group_names: list[str], total_steps: int,
                    steps_per_epoch: int | None) -> list[UlmfitProblem]:
    """What in training.ulmfit keeps groups from learning in a run of `total_steps` (duck-typed spec)."""
    u, n = training.ulmfit, len(group_names)
    problems: list[UlmfitProblem] = []
    if n == 0:
        return problems
    factors = discriminative_factors(n, u.discriminative_decay)
    low = [name for name, f in zip(group_names, factors) if f < MIN_SHARE]
    if low:
        peak = training.learning_rate or 0.0
        lowest = f"{group_names[0]} at {peak * factors[0]:.2g} (×{factors[0]:.1e} of the peak)"
        most = MIN_SHARE ** (-1.0 / (n - 1))  # the largest decay keeping the bottom group at MIN_SHARE
        problems.append(UlmfitProblem(
            "training.ulmfit.discriminative_decay",
            f"training.ulmfit.discriminative_decay {u.discriminative_decay:g} over {n} layer groups gives "
            f"{len(low)} of them a rate below {MIN_SHARE:g} × the peak ({lowest}); they will barely learn. "
            f"Use a decay of at most {most:.3g} for this model.", tuple(low)))
    every = _interval(u, steps_per_epoch)
    if every is not None and total_steps >= 1:
        reached = unfrozen_groups(total_steps - 1, n, every)
        if reached < n:
            frozen = tuple(group_names[:n - reached])
            fix = (f"set training.ulmfit.unfreeze_every to at most {(total_steps - 1) // (n - 1)}"
                   if total_steps > n - 1 else f"train at least {n} steps, one per group")
            problems.append(UlmfitProblem(
                "training.ulmfit.gradual_unfreezing",
                f"training.ulmfit.gradual_unfreezing unfreezes one group every {every} steps, so in "
                f"{total_steps} steps only {reached} of {n} layer groups train at all ({len(frozen)} stay "
                f"frozen: {_names(frozen)}); {fix}.", frozen))
    return problems


def run_warnings(training: Any, layer_groups: list[tuple[str, Any]] | None, total_steps: int,
                 n_examples: int) -> list[str]:
    """ulmfit_problems' messages for a run about to train (no groups: no ULMFiT, nothing to say)."""
    if not layer_groups:
        return []
    per_epoch = optimizer_steps_per_epoch(n_examples, training.batch_size, training.gradient_accumulation)
    return [p.message for p in ulmfit_problems(training, [g for g, _ in layer_groups], total_steps, per_epoch)]


def _interval(u: Any, steps_per_epoch: int | None) -> int | None:
    if not u.gradual_unfreezing or (u.unfreeze_every is None and steps_per_epoch is None):
        return None  # off, or one epoch per group while the epoch's length is not known yet
    return unfreeze_interval(True, u.unfreeze_every, steps_per_epoch)


def _names(names: tuple[str, ...], shown: int = 4) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown - 1])} … {names[-1]}"

