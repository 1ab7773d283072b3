"""The learning-rate range test's arithmetic (Smith 2017; fastai's lr_find), pure Python.

The sweep raises the rate exponentially from `start` to `end` over `steps` optimizer steps; the
loss is smoothed with an exponential moving average (β = 0.98, bias-corrected as in Adam) and the
sweep stops once the smoothed loss exceeds 4 × its minimum. Two rates are proposed from the
smoothed curve: the steepest descent (most negative slope against log lr) and the minimum-loss
rate ÷ 10 (fastai's rule of thumb). No torch here: the CLI, the store and the wizard share it.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any

BETA = 0.98
DIVERGE_FACTOR = 4.0
# Config keys that only shape the run after its start (its length, schedule, checkpoints): a range
# test result stays valid when they change, e.g. after "Use this rate" set learning_rate.
_RUN_ONLY = {"name": None, "training": {"learning_rate", "max_steps", "epochs", "schedule", "warmup_ratio",
                                        "save_steps", "eval_steps", "logging_steps", "keep_checkpoints",
                                        "oom_retry"}}
_RUN_ONLY_ULMFIT = {"unfreeze_every", "cut_frac", "ratio"}


def sweep_rate(step: int, steps: int, start: float, end: float) -> float:
    """The top group's rate at optimizer step `step` (0-based): start·(end/start)^(step/(steps−1))."""
    if not 0 < start < end:
        raise ValueError(f"need 0 < start < end, got start={start:g}, end={end:g}")
    if steps < 2:
        raise ValueError(f"the sweep needs at least 2 steps, got {steps}")
    return start * (end / start) ** (step / (steps - 1))


def smooth(losses: list[float], beta: float = BETA) -> list[float]:
    """Bias-corrected exponential moving average of the losses (fastai's smoothing)."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def diverged(smoothed: list[float], factor: float = DIVERGE_FACTOR) -> bool:
    """Whether the newest smoothed loss is not finite or exceeds factor × the lowest one so far."""
    if not smoothed:
        return False
    last = smoothed[-1]
    return not math.isfinite(last) or (len(smoothed) > 1 and last > factor * min(smoothed))


def suggest(lrs: list[float], losses: list[float]) -> dict[str, Any]:
    """Both proposals from a recorded sweep, and which one is suggested and why.

    Points after divergence (and non-finite losses) are ignored. The steepest descent is looked for
    between the first tenth of the curve (the smoothing's warm-up) and the minimum; it is suggested
    when the loss really fell there, else min-loss ÷ 10. None when the loss never fell at all."""
    smoothed = smooth(losses)
    n = len(smoothed)
    while n and not math.isfinite(smoothed[n - 1]):
        n -= 1
    if n < 3:
        return {"steepest": None, "min_loss": None, "min_loss_div10": None, "suggested": None, "rule": None,
                "reason": "too few finite points to read a slope"}
    values = smoothed[:n]
    best = min(range(n), key=values.__getitem__)
    result: dict[str, Any] = {"min_loss": lrs[best], "min_loss_div10": lrs[best] / 10, "steepest": None}
    lo = max(1, n // 10)
    slopes = [(_slope(lrs, values, i), i) for i in range(lo, best + 1) if 0 < i < n - 1]
    if slopes:
        slope, i = min(slopes)
        if slope < 0:
            result["steepest"] = lrs[i]
    if best == 0 or values[best] >= values[0]:
        return {**result, "suggested": None, "rule": None,
                "reason": "the loss never fell: try a higher --end, more --steps or check the data"}
    if result["steepest"] is not None:
        return {**result, "suggested": result["steepest"], "rule": "steepest",
                "reason": "the smoothed loss falls fastest at this rate"}
    return {**result, "suggested": result["min_loss_div10"], "rule": "min_loss/10",
            "reason": "no clear steepest descent before the minimum: a tenth of the minimum-loss rate"}


def _slope(lrs: list[float], values: list[float], i: int) -> float:
    """Central difference of the loss against log10(lr) at point i."""
    return (values[i + 1] - values[i - 1]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i - 1]))


def falling_region(lrs: list[float], losses: list[float]) -> tuple[float, float] | None:
    """(lowest, highest) rate of the longest run of points where the smoothed loss goes down."""
    s = smooth(losses)
    best, start = None, None
    for i in range(1, len(s)):
        if math.isfinite(s[i]) and s[i] < s[i - 1]:
            start = i - 1 if start is None else start
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
        else:
            start = None
    return None if best is None else (lrs[best[0]], lrs[best[1]])


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of what a range test depends on: the config without its run-only keys (RunConfig.to_dict
    shape), so the same model, data, method and batch find the same stored result."""
    kept = {k: v for k, v in config.items() if k != "name"}
    training = {k: v for k, v in dict(kept.get("training") or {}).items() if k not in _RUN_ONLY["training"]}
    if isinstance(training.get("ulmfit"), dict):
        training["ulmfit"] = {k: v for k, v in training["ulmfit"].items() if k not in _RUN_ONLY_ULMFIT}
    kept["training"] = training
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
