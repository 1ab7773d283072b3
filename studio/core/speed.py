"""Speed and memory settings of the one recipe: activation checkpointing and fused kernels.

Each decision is a plain function of the TrainingSpec and what the machine has, returning the
TrainingArguments kwargs it needs and one log line saying what was chosen and why (the worker log).
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from studio.config import ConfigError, TrainingSpec

AC_FIELD = "training.activation_checkpointing"
KERNELS_FIELD = "training.kernels"


def checkpointing_arguments(training: TrainingSpec, device: str) -> tuple[dict[str, Any], str]:
    """TrainingArguments kwargs for training.activation_checkpointing on `device`, and the log line."""
    setting = training.activation_checkpointing
    every = training.checkpoint_every
    if every is None:
        return {}, f"activation checkpointing: off ({AC_FIELD} is 'off'): every block keeps its activations"
    if setting == "offload" and device != "cuda":
        # Offloading moves a GPU's saved activations to pinned host memory; on a CPU they already are
        # in host memory, so the setting could only cost time. Refused rather than silently ignored.
        raise ConfigError(f"'offload' keeps a GPU's saved activations in pinned CPU memory and needs CUDA; "
                          f"this run trains on {device}: use 'on' or {{every_n: K}}", AC_FIELD)
    # Non-reentrant: torch's recommended mode; it recomputes forward hooks (our adapters) and lets
    # gradients reach tensors that are not block inputs (a prefix's keys and values).
    kwargs: dict[str, Any] = {"use_reentrant": False}
    if every > 1:
        kwargs["every_n_layers"] = every  # transformers checkpoints blocks 0, K, 2K, ...
    if setting == "offload":
        kwargs["offload"] = True
    which = "every block" if every == 1 else f"every {every}th block (blocks 0, {every}, {2 * every}, ...)"
    where = ", saved inputs offloaded to pinned CPU memory" if setting == "offload" else ""
    line = (f"activation checkpointing: {which} recomputed in the backward pass{where} "
            f"({AC_FIELD} is {_shown(setting)})")
    return {"activation_checkpointing": True, "activation_checkpointing_kwargs": kwargs}, line


def resolve_kernels(kernels: str, cuda_available: bool, liger_importable: bool, model_type: str | None,
                    task: str, supported: Collection[str] = ()) -> tuple[str, str]:
    """('liger' | 'none', why) for training.kernels; explicit 'liger' that cannot run is a ConfigError.

    `supported` is the model types the installed Liger patches (its MODEL_TYPE_TO_APPLY_LIGER_FN).
    """
    if kernels == "none":
        return "none", f"kernels: none ({KERNELS_FIELD} is 'none'): PyTorch's own kernels"
    why_not = None
    if not cuda_available:
        why_not = "Liger's kernels are Triton GPU kernels and this run has no CUDA device"
    elif not liger_importable:
        why_not = "liger-kernel is not installed (pip install -e .[gpu])"
    elif model_type not in supported:
        why_not = f"liger-kernel has no kernels for model type {model_type!r}"
    if why_not is not None:
        if kernels == "liger":
            raise ConfigError(f"'liger' cannot be used: {why_not}; use auto or none", KERNELS_FIELD)
        return "none", f"kernels: none ({KERNELS_FIELD} is 'auto'; {why_not})"
    config = liger_config(task)
    parts = [name for name in ("rms_norm", "rope", "swiglu", "fused_linear_cross_entropy") if config[name]]
    head = "" if config["fused_linear_cross_entropy"] else \
        "; fused linear cross-entropy off for the classifier head"
    return "liger", (f"kernels: liger ({', '.join(parts)}) for {model_type} "
                     f"({KERNELS_FIELD} is {kernels!r}{head})")


def liger_config(task: str) -> dict[str, bool]:
    """Kwargs for Liger's apply function: every fused kernel, the fused loss only for language modelling."""
    # Fused linear cross-entropy never builds the fp32 logits, but it replaces the LM head's loss;
    # a classifier's head and loss are small and stay as they are.
    return {"rms_norm": True, "rope": True, "swiglu": True, "cross_entropy": False,
            "fused_linear_cross_entropy": task == "causal-lm"}


def kernel_arguments(choice: str, task: str) -> dict[str, Any]:
    """TrainingArguments kwargs for a resolved kernel choice."""
    if choice != "liger":
        return {}
    return {"use_liger_kernel": True, "liger_kernel_config": liger_config(task)}


def installed_liger_types() -> frozenset[str] | None:
    """Model types the installed liger-kernel supports, or None when it cannot be imported."""
    try:
        from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN
    except Exception:  # not installed, or Triton missing/broken: either way no Liger here
        return None
    return frozenset(MODEL_TYPE_TO_APPLY_LIGER_FN)


def speed_arguments(training: TrainingSpec, device: str, model_type: str | None,
                    task: str) -> tuple[dict[str, Any], list[str]]:
    """All TrainingArguments kwargs these settings need, and their log lines (checkpointing, kernels)."""
    import torch

    kwargs, ac_line = checkpointing_arguments(training, device)
    cuda = device == "cuda" and torch.cuda.is_available()
    # Importing Liger pulls in Triton; only worth trying where it could run.
    liger_types = installed_liger_types() if cuda and training.kernels != "none" else None
    choice, kernel_line = resolve_kernels(training.kernels, cuda, liger_types is not None, model_type, task,
                                          liger_types or ())
    return {**kwargs, **kernel_arguments(choice, task)}, [ac_line, kernel_line]


def check_speed_settings(cfg: Any, model_type: str | None) -> None:
    """Raise the ConfigError the worker would (offload without CUDA, explicit liger that cannot run),
    so `studio train` refuses the config before a run is recorded."""
    from studio.core.train import pick_device

    device, _ = pick_device(cfg.training)
    speed_arguments(cfg.training, device, model_type, cfg.task)


def _shown(setting: Any) -> str:
    return f"{{every_n: {setting['every_n']}}}" if isinstance(setting, dict) else repr(setting)
