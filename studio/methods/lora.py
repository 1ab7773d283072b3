"""LoRA (Hu et al., 2021): a frozen W plus a trainable low-rank update BA, B = 0 at the start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import opt
from studio.methods.limits import short_run_limit
from studio.methods.registry import Method, register
from studio.methods.targets import PRESETS, target_modules


@dataclass
class LoraOptions:
    """LoRA settings; defaults follow the paper's GPT-3 / RoBERTa runs."""

    r: int = opt(8, "Rank of the update BA (the paper finds 4-8 enough for W_q, W_v)", min=1, max=1024)
    alpha: float = opt(16.0, "Scale: the update is multiplied by alpha / r", min=0.0, min_exclusive=True)
    dropout: float = opt(0.05, "Dropout on the adapter's input", min=0.0, max=0.9)
    targets: str = opt("qv", "Layers to adapt: qv (the paper: W_q and W_v), attention, all-linear",
                       choices=PRESETS)
    target_modules: list[str] | None = opt(None, "Explicit module names; overrides targets")


def task_type(task: str) -> Any:
    """PEFT task type for a studio task (SEQ_CLS also makes the classifier head trainable)."""
    from peft import TaskType

    return TaskType.SEQ_CLS if task == "classification" else TaskType.CAUSAL_LM


def lora_config(model: Any, opts: LoraOptions, task: str, **extra: Any) -> Any:
    """The peft LoraConfig for these options on this model (shared by DoRA and QLoRA)."""
    from peft import LoraConfig

    modules = opts.target_modules or target_modules(model.config.model_type, opts.targets)
    return LoraConfig(r=opts.r, lora_alpha=opts.alpha, lora_dropout=opts.dropout,
                      target_modules=modules, task_type=task_type(task), **extra)


def apply(model: Any, opts: LoraOptions, task: str) -> Any:
    """Wrap the model so only the LoRA matrices (and a classifier head) train."""
    from peft import get_peft_model

    return get_peft_model(model, lora_config(model, opts, task))


def merge(model: Any) -> Any:
    """Fold the adapter into the base weights and return the plain transformers model."""
    return model.merge_and_unload()


METHOD = register(Method(
    name="lora",
    learning_rate=2e-4,
    options=LoraOptions,
    apply=apply,
    mergeable=True,
    peft_native=True,
    merge=merge,
    description=(
        "LoRA freezes the model and learns a low-rank update ΔW = B·A for chosen weight matrices. "
        "Trainable parameters: r·(d_in + d_out) per adapted matrix. B starts at zero, so training "
        "starts exactly from the base model, and the update can be merged into W afterwards at no "
        "inference cost. Choose it as the default for most tasks."
    ) + short_run_limit("lora"),
))
