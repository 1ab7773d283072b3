"""The pure schedule functions: stlr against the paper's formula, the warm-up schedules against
transformers' own schedulers, discriminative factors, gradual unfreezing and the LR table."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core import schedules as s


def _paper_stlr(t: int, T: int, cut_frac: float, ratio: float) -> float:
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + max(0.0, min(1.0, p)) * (ratio - 1)) / ratio


@pytest.mark.parametrize("T,cut_frac,ratio", [(100, 0.1, 32), (1000, 0.1, 32), (37, 0.2, 10), (10, 0.5, 4)])
def test_stlr_follows_the_formula(T, cut_frac, ratio):
    values = [s.stlr(t, T, cut_frac, ratio) for t in range(T + 1)]
    assert values == pytest.approx([_paper_stlr(t, T, cut_frac, ratio) for t in range(T + 1)], rel=1e-12)
    cut = math.floor(T * cut_frac)
    assert values[0] == pytest.approx(1 / ratio)  # starts at the floor
    assert values[cut] == pytest.approx(1.0) and max(values) == pytest.approx(1.0)  # peak 1 at cut
    assert values[T] == pytest.approx(1 / ratio)  # back to the floor at T
    assert all(a < b for a, b in zip(values[:cut], values[1:cut + 1]))  # strictly up...
    assert all(a >= b for a, b in zip(values[cut:], values[cut + 1:]))  # ...then down
    assert min(values) >= 1 / ratio - 1e-15
    assert s.stlr(T + 50, T, cut_frac, ratio) == pytest.approx(1 / ratio)  # clamped past the end


def test_stlr_paper_values():
    # T = 1000, cut_frac = 0.1, ratio = 32: cut = 100; halfway up and a quarter of the way down.
    assert s.stlr(50, 1000) == pytest.approx((1 + 0.5 * 31) / 32)
    assert s.stlr(325, 1000) == pytest.approx((1 + 0.75 * 31) / 32)


def test_stlr_without_room_for_a_rise_decays_from_the_peak():
    T = 5  # 5 × 0.1 < 1: cut = 0
    values = [s.stlr(t, T) for t in range(T + 1)]
    assert values[0] == 1.0 and values[-1] == pytest.approx(1 / 32)
    assert all(a > b for a, b in zip(values, values[1:]))
    assert s.stlr(0, 1) == 1.0
    with pytest.raises(ValueError):
        s.stlr(0, 0)
    with pytest.raises(ValueError):
        s.stlr(0, 10, cut_frac=0.0)


def test_discriminative_factors():
    f = s.discriminative_factors(4, 2.6)
    assert f[-1] == 1.0
    assert [f[i + 1] / f[i] for i in range(3)] == pytest.approx([2.6] * 3)  # η_{l-1} = η_l / 2.6
    assert f[0] == pytest.approx(2.6 ** -3)
    assert s.discriminative_factors(3, None) == [1.0, 1.0, 1.0]
    assert s.discriminative_factors(0, 2.6) == []


def test_unfrozen_groups():
    assert [s.unfrozen_groups(t, 4, 3) for t in range(14)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4]
    assert s.unfrozen_groups(100, 4, 1) == 4
    assert s.unfrozen_groups(0, 4, None) == 4  # off: everything trains
    assert s.unfreeze_interval(True, None, 20) == 20  # default: one epoch
    assert s.unfreeze_interval(True, 5, 20) == 5
    assert s.unfreeze_interval(False, 5, 20) is None
    assert s.optimizer_steps_per_epoch(81, 4, 2) == 11


def _transformers_lrs(schedule: str, total: int, warmup: int) -> list[float]:
    import torch
    from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                              get_linear_schedule_with_warmup)

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    if schedule == "constant":
        sched = get_constant_schedule_with_warmup(opt, warmup)
    elif schedule == "linear":
        sched = get_linear_schedule_with_warmup(opt, warmup, total)
    else:
        sched = get_cosine_schedule_with_warmup(opt, warmup, total)
    lrs = []
    for _ in range(total + 3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("schedule", ["linear", "cosine", "constant"])
@pytest.mark.parametrize("total,warmup_ratio", [(20, 0.0), (20, 0.1), (37, 0.25), (7, 0.5), (3, 0.9)])
def test_warmup_schedules_match_transformers(schedule, total, warmup_ratio):
    from transformers import TrainingArguments

    warmup = s.warmup_steps(total, warmup_ratio)
    args = TrainingArguments(output_dir="unused", warmup_steps=warmup_ratio, report_to="none")
    assert warmup == args.get_warmup_steps(total)
    ours = [s.schedule_factor(schedule, t, total, warmup) for t in range(total + 3)]
    assert ours == pytest.approx(_transformers_lrs(schedule, total, warmup), rel=1e-12, abs=1e-15)


def test_group_learning_rates_combines_the_three_parts():
    spec = dict(schedule="stlr", discriminative_decay=2.6, gradual_unfreezing=True, unfreeze_every=3,
                cut_frac=0.2, ratio=8.0)
    total, n, lr = 20, 4, 1e-3
    table = s.learning_rate_table(total, lr, n, **spec)
    assert len(table) == total and all(len(row) == n for row in table)
    for t, row in enumerate(table):
        assert row == s.group_learning_rates(t, total, lr, n, **spec)
        training = min(n, 1 + t // 3)
        expected = [lr * s.stlr(t, total, 0.2, 8.0) * 2.6 ** -(n - 1 - i) if i >= n - training else 0.0
                    for i in range(n)]
        assert row == pytest.approx(expected, rel=1e-12)
    assert table[0] == [0.0, 0.0, 0.0, pytest.approx(lr / 8)]
    assert all(v > 0 for v in table[9])  # every group trains from step 9 on


def test_group_learning_rates_defaults_are_the_plain_schedule():
    row = s.group_learning_rates(5, 10, 2e-4, 3, schedule="linear", warmup_ratio=0.0)
    assert row == pytest.approx([2e-4 * 0.5] * 3)
    # one epoch per stage when unfreeze_every is not given
    rows = s.learning_rate_table(6, 1.0, 2, schedule="constant", gradual_unfreezing=True, steps_per_epoch=4)
    assert [sum(v > 0 for v in r) for r in rows] == [1, 1, 1, 1, 2, 2]


def test_schedule_spec_reads_a_training_spec():
    from studio.config import TrainingSpec, UlmfitSpec

    t = TrainingSpec(schedule="stlr", ulmfit=UlmfitSpec(discriminative_decay=2.6, gradual_unfreezing=True))
    spec = s.schedule_spec(t)
    assert spec["schedule"] == "stlr" and spec["discriminative_decay"] == 2.6 and spec["ratio"] == 32.0
    assert len(s.learning_rate_table(10, 1e-3, 3, **spec, steps_per_epoch=5)) == 10


def test_the_module_is_pure_python():
    code = ("import sys; import studio.core.schedules as s; s.learning_rate_table(5, 1.0, 2, schedule='stlr');"
            "bad = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
