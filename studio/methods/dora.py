"""DoRA (Liu et al., 2024): W split into magnitude and direction; LoRA updates the direction."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.methods.limits import short_run_limit
from studio.methods.lora import LoraOptions, lora_config, merge
from studio.methods.registry import Method, register


@dataclass
class DoraOptions(LoraOptions):
    """DoRA settings: the LoRA ones (the paper keeps LoRA's rank and targets and reports DoRA
    matching LoRA even at half the rank)."""


def apply(model: Any, opts: DoraOptions, task: str) -> Any:
    """Wrap the model so only the LoRA matrices, the magnitudes (and a classifier head) train."""
    from peft import get_peft_model

    return get_peft_model(model, lora_config(model, opts, task, use_dora=True))


METHOD = register(Method(
    name="dora",
    learning_rate=2e-4,
    options=DoraOptions,
    apply=apply,
    mergeable=True,
    peft_native=True,
    merge=merge,
    description=(
        "DoRA writes each adapted weight as a magnitude times a unit direction, W' = m · (W + B·A) / "
        "‖W + B·A‖ (norm per output unit), learns the direction change with LoRA and the magnitude m "
        "directly. Trainable parameters: r·(d_in + d_out) + d_out per adapted matrix. m starts at ‖W‖ "
        "and B at zero, so training starts from the base model, and it merges like LoRA. Choose it "
        "over LoRA when a low rank underfits; each step costs somewhat more compute and memory."
    ) + short_run_limit("dora"),
))
