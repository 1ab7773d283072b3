"""Full fine-tuning: every parameter trains. The baseline every other method is measured against."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.methods.layers import merged_in_place
from studio.methods.registry import Method, register


@dataclass
class FullOptions:
    """Full fine-tuning has no options of its own."""


def apply(model: Any, opts: FullOptions, task: str) -> Any:
    """Make every parameter trainable."""
    for p in model.parameters():
        p.requires_grad_(True)
    return model



METHOD = register(Method(
    name="full",
    learning_rate=5e-5,
    options=FullOptions,
    apply=apply,
    mergeable=True,
    merge=merged_in_place,
    description=(
        "Full fine-tuning updates every weight. Trainable parameters: all of them; memory needed "
        "is about 16 bytes per parameter for weights, gradients and Adam state. The saved result is "
        "a complete model. Choose it when memory allows and the task is far from pre-training."
    ),
))
