"""The Method step's recommended default from the wizard's state: the task, and LoRA's memory estimate
(the Review step's estimate) against this machine's memory."""
from __future__ import annotations

import copy
from typing import Any

import psutil

from studio.config import RunConfig
from studio.ui.pages.wizard.memory_panel import review_estimate
from studio.ui.pages.wizard.method_groups import Recommendation, recommend


def machine_memory(probe: dict[str, Any]) -> int | None:
    """Bytes the run can use: the host's RAM on a CPU run; on CUDA only if the probe reports the GPU's
    size (the window cannot ask the GPU itself without torch), else None (no memory-based advice)."""
    if probe.get("cuda"):
        return probe.get("cuda_memory_bytes")
    return int(psutil.virtual_memory().total)


def lora_estimate(state: Any) -> int | None:
    """The Review step's estimate for this config with LoRA's defaults; None until it can be made."""
    config = copy.deepcopy(state.config)
    config["method"] = {"name": "lora"}
    config["name"] = config.get("name") or "estimate"
    try:
        cfg = RunConfig.from_dict(config)
    except (ValueError, TypeError, KeyError):  # an unfinished config: no estimate yet
        return None
    est = review_estimate(state, cfg)
    if not isinstance(est, dict) or est.get("problem"):
        return None
    return int(est["total_bytes"])


def recommendation_for(state: Any) -> Recommendation:
    """The recommendation for the wizard's model, task and settings."""
    probe = state.probe or {}
    return recommend(state.config.get("task", "causal-lm"), lora_estimate(state), machine_memory(probe))
