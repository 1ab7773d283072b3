"""Prefix tuning's defaults per task, torch-free (the window's memory estimate reads them too).

Generation keeps Li & Liang's setup: 10 virtual tokens trained through the reparameterisation MLP.
Classification trains the prefix directly with 20 tokens, P-tuning v2's recipe for understanding
tasks (Liu et al., 2022), because the MLP makes every optimizer step move the prefix far more than
its rate says: Adam's first steps change each output weight of the MLP by about the rate, and each
prefix element sums h of them (h = 512 hidden units, |tanh| ≈ 0.4), so at 1e-3 the computed prefix
moved 20-33 % of its size per step on MiniLM and never settled (rankings: loss stayed at ln 6,
accuracy at chance after 300 steps). A direct prefix at 1e-2 moves about 1 % per step.
"""
from __future__ import annotations

from typing import Any

GENERATION = {"num_virtual_tokens": 10, "prefix_projection": True}
CLASSIFICATION = {"num_virtual_tokens": 20, "prefix_projection": False}


def task_defaults(task: str) -> dict[str, Any]:
    """The options an empty prefix option means for a model task (classification or causal-lm)."""
    return dict(CLASSIFICATION if task == "classification" else GENERATION)


def resolved(options: dict[str, Any], task: str) -> dict[str, Any]:
    """`options` with every omitted or empty (None) task-dependent option filled for `task`."""
    out = dict(options)
    for key, value in task_defaults(task).items():
        if out.get(key) is None:
            out[key] = value
    return out
