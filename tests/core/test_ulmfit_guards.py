"""ULMFiT guards: a layer group below 1e-3 × the peak rate, and gradual unfreezing that cannot reach
every group within the run, are both reported with the groups they affect."""
from __future__ import annotations

import pytest

from studio.config import RunConfig
from studio.core.schedules import discriminative_factors, unfrozen_groups
from studio.core.ulmfit_guards import MIN_SHARE, run_warnings, ulmfit_problems


def training(**ulmfit):
    steps = ulmfit.pop("max_steps", 30)
    return RunConfig.from_dict({"name": "t", "task": "causal-lm", "model": "m", "data": {"train": "a"},
                                "training": {"max_steps": steps, "learning_rate": 1e-3,
                                             "ulmfit": ulmfit}}).training


def groups(blocks: int) -> list[str]:
    return ["embeddings", *(f"block {i}" for i in range(blocks)), "head"]


def test_decay_for_a_small_model_on_a_deep_one_warns_and_names_the_low_groups():
    names = groups(30)
    (problem,) = ulmfit_problems(training(discriminative_decay=2.6), names, 30, None)
    factors = discriminative_factors(len(names), 2.6)
    assert problem.key == "training.ulmfit.discriminative_decay"
    assert problem.groups == tuple(n for n, f in zip(names, factors) if f < MIN_SHARE)
    assert problem.groups[0] == "embeddings" and "head" not in problem.groups
    assert f"embeddings at {1e-3 * 2.6 ** -31:.2g}" in problem.message  # peak × 2.6^-(32-1)
    assert "32 layer groups" in problem.message


def test_suggested_decay_keeps_every_group_above_the_floor():
    names = groups(30)
    (problem,) = ulmfit_problems(training(discriminative_decay=2.6), names, 30, None)
    suggested = float(problem.message.rsplit("at most ", 1)[1].split(" ")[0])
    assert ulmfit_problems(training(discriminative_decay=suggested * 0.999), names, 30, None) == []


def test_decay_that_suits_the_model_is_quiet():
    assert ulmfit_problems(training(discriminative_decay=2.6), groups(4), 30, None) == []
    assert ulmfit_problems(training(), groups(30), 30, None) == []


def test_unfreezing_one_epoch_per_group_in_a_short_run_warns():
    names = groups(30)
    (problem,) = ulmfit_problems(training(gradual_unfreezing=True), names, 30, 100)
    assert problem.key == "training.ulmfit.gradual_unfreezing"
    reached = unfrozen_groups(29, len(names), 100)
    assert reached == 1 and problem.groups == tuple(names[:-1])
    assert "only 1 of 32" in problem.message


def test_unfreezing_fix_suggested_reaches_every_group():
    names = groups(4)  # 6 groups
    (problem,) = ulmfit_problems(training(gradual_unfreezing=True, unfreeze_every=20, max_steps=50), names, 50,
                                 None)
    assert problem.groups == ("embeddings", "block 0", "block 1")
    every = int(problem.message.rsplit("at most ", 1)[1].rstrip("."))
    assert unfrozen_groups(49, len(names), every) == len(names)
    assert unfrozen_groups(49, len(names), every + 1) < len(names)


@pytest.mark.parametrize("ulmfit, per_epoch", [({"gradual_unfreezing": True, "unfreeze_every": 5}, None),
                                               ({"gradual_unfreezing": True}, 5),
                                               ({"gradual_unfreezing": True}, None)])  # epoch not known yet
def test_unfreezing_that_reaches_every_group_is_quiet(ulmfit, per_epoch):
    assert ulmfit_problems(training(**ulmfit), groups(4), 30, per_epoch) == []


def test_run_that_cannot_have_one_step_per_group_says_so():
    (problem,) = ulmfit_problems(training(gradual_unfreezing=True, unfreeze_every=1, max_steps=10), groups(30),
                                 10, None)
    assert "train at least 32 steps" in problem.message


def test_run_warnings_counts_the_epoch_from_the_examples():
    t = training(gradual_unfreezing=True)  # batch 8: 800 examples = 100 steps per epoch
    layer_groups = [(n, []) for n in groups(2)]
    assert len(run_warnings(t, layer_groups, 30, 800)) == 1
    assert run_warnings(t, layer_groups, 30, 40) == []  # 5 steps per epoch: all 4 groups by step 15
    assert run_warnings(t, None, 30, 800) == []
