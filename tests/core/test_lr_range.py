"""The range test's arithmetic on synthetic curves: the exponential sweep, fastai's smoothing, the
divergence stop, both proposals, and the config hash that keys stored results."""
from __future__ import annotations

import math
import random

import pytest

from studio.config import RunConfig
from studio.core.lr_range import (config_hash, diverged, falling_region, smooth, suggest, sweep_rate)


def test_sweep_rises_exponentially_from_start_to_end():
    rates = [sweep_rate(i, 100, 1e-7, 1.0) for i in range(100)]
    assert rates[0] == pytest.approx(1e-7) and rates[-1] == pytest.approx(1.0)
    ratios = [b / a for a, b in zip(rates, rates[1:])]
    assert max(ratios) == pytest.approx(min(ratios))  # a constant factor per step
    with pytest.raises(ValueError, match="start < end"):
        sweep_rate(0, 100, 1.0, 1e-7)
    with pytest.raises(ValueError, match="at least 2"):
        sweep_rate(0, 1, 1e-7, 1.0)


def test_smoothing_is_bias_corrected():
    assert smooth([5.0, 5.0, 5.0]) == pytest.approx([5.0, 5.0, 5.0])  # no pull towards 0 at the start
    s = smooth([1.0, 3.0])
    assert s[1] == pytest.approx((0.98 * 0.02 * 1.0 + 0.02 * 3.0) / (1 - 0.98 ** 2))


def test_divergence_is_four_times_the_minimum_or_not_finite():
    assert not diverged([2.0, 1.0, 3.9])
    assert diverged([2.0, 1.0, 4.1])
    assert diverged([2.0, float("nan")])
    assert not diverged([]) and not diverged([10.0])


def synthetic(n=100, start=1e-7, end=1.0, seed=0, noise=0.02):
    """A loss flat at 2.3, falling between 1e-4 and 1e-2 (steepest near 1e-3), exploding above 1e-1."""
    rng = random.Random(seed)
    lrs = [sweep_rate(i, n, start, end) for i in range(n)]
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        fall = 1.5 / (1 + math.exp(-3 * (x + 3)))  # sigmoid centred at 1e-3
        blow = 0.0 if x < -1 else 20 * (x + 1) ** 2
        losses.append(2.3 - fall + blow + rng.gauss(0, noise))
    return lrs, losses


def test_steepest_descent_is_found_where_the_loss_falls_fastest():
    lrs, losses = synthetic()
    result = suggest(lrs, losses)
    assert result["rule"] == "steepest"
    # the smoothing lags the raw curve a little: the steepest smoothed slope comes slightly later
    assert 5e-4 < result["steepest"] < 1e-2
    assert result["suggested"] == result["steepest"]
    lo, hi = falling_region(lrs, losses)
    assert lo <= result["suggested"] <= hi
    assert 1e-2 < result["min_loss"] < 0.2
    assert result["min_loss_div10"] == pytest.approx(result["min_loss"] / 10)


def test_points_after_divergence_are_ignored():
    lrs, losses = synthetic()
    losses[-5:] = [float("inf")] * 5
    assert suggest(lrs, losses)["suggested"] == suggest(lrs[:-5], losses[:-5])["suggested"]


def test_a_loss_that_never_falls_suggests_nothing():
    lrs = [sweep_rate(i, 50, 1e-7, 1.0) for i in range(50)]
    result = suggest(lrs, [1.0 + i * 0.1 for i in range(50)])
    assert result["suggested"] is None and "never fell" in result["reason"]
    assert suggest(lrs[:2], [1.0, 0.5])["suggested"] is None


def test_without_a_steep_fall_the_fastai_rule_is_used():
    lrs = [sweep_rate(i, 30, 1e-7, 1.0) for i in range(30)]
    losses = [2.0, 0.5] + [3.0] * 28  # the minimum comes inside the smoothing's warm-up: no slope to read
    result = suggest(lrs, losses)
    assert result["steepest"] is None
    assert result["rule"] == "min_loss/10" and result["suggested"] == pytest.approx(lrs[1] / 10)


def _cfg(**training):
    return RunConfig.from_dict({"name": "a", "task": "causal-lm", "model": "m", "data": {"train": "t.jsonl"},
                                "training": training}).to_dict()


def test_config_hash_ignores_run_only_keys_but_not_what_the_sweep_sees():
    base = config_hash(_cfg())
    assert config_hash({**_cfg(), "name": "other"}) == base
    assert config_hash(_cfg(learning_rate=0.1, max_steps=7, schedule="cosine", save_steps=3)) == base
    assert config_hash(_cfg(ulmfit={"cut_frac": 0.2})) == base
    assert config_hash(_cfg(batch_size=2)) != base
    assert config_hash(_cfg(seed=1)) != base
    assert config_hash(_cfg(ulmfit={"discriminative_decay": 2.6})) != base
    assert config_hash({**_cfg(), "model": "other"}) != base
