"""The memory estimate of one run config: the Models page's `memory.estimate` fed from the config's
method, batch, max_length, precision, device, packing and activation checkpointing, as one process
holds it when training.distributed spreads the run over several (sharded_memory.py).

Torch-free, so the wizard's Review step computes it in the GUI (from the model facts the probe child
read) and `studio probe --measure` prints the very same number beside the measured peak.
"""
from __future__ import annotations

from typing import Any

from studio.config import RunConfig
from studio.distributed_config import resolve_processes
from studio.modelinfo.facts import ModelFacts
from studio.modelinfo.memory import BYTES, ENCODERS, estimate
from studio.modelinfo.sharded_memory import per_process


def method_defaults(methods: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`studio methods --json` → {method: {option: default}} (what both GUI estimates start from)."""
    return {m["name"]: {o["name"]: o["default"] for o in m["options"]} for m in methods}


def resolve_device(training: Any, cuda: bool, bf16_ok: bool = True) -> tuple[str, str]:
    """('cuda'|'cpu', precision) as core.train.pick_device chooses them, from what the machine has."""
    device = "cuda" if training.device == "cuda" or (training.device == "auto" and cuda) else "cpu"
    precision = training.precision
    if precision == "auto":
        precision = "bf16" if device == "cuda" and bf16_ok else "fp32"
    return device, precision


def packs(cfg: RunConfig, model_type: str | None) -> bool:
    """Whether the run's batches are packed (no pad tokens): causal-LM and packing on, or auto on a
    decoder (encoders cannot pack; the engine decides the finer cases and logs them)."""
    if cfg.task != "causal-lm" or cfg.training.packing == "off":
        return False
    return cfg.training.packing == "on" or model_type not in ENCODERS


def run_estimate(facts: ModelFacts, cfg: RunConfig, defaults: dict[str, Any], *, device: str,
                 precision: str, num_labels: int = 2, tokens: int | None = None,
                 packed: bool | None = None, gpus: int = 0) -> dict[str, Any]:
    """memory.estimate for `cfg` (method options over `defaults`, the method's defaults), per process
    of training.distributed (`gpus`: the GPUs found, what processes auto means)."""
    t = cfg.training
    options = {**defaults, **cfg.method.options}
    est = estimate(facts, cfg.method.name, t.batch_size, cfg.data.max_length, precision, options,
                   cfg.task, num_labels, device=device, checkpoint_every=t.checkpoint_every,
                   offload=t.activation_checkpointing == "offload",
                   packed=packs(cfg, facts.model_type) if packed is None else packed, tokens=tokens,
                   preference=cfg.preference.loss if cfg.preference is not None else None)
    if est["problem"] and facts.problem:
        est["problem"] = facts.problem  # why the facts are missing says more than "needs the count"
    spread = t.distributed
    return per_process(est, facts, resolve_processes(spread, gpus), spread.strategy,
                       BYTES.get(precision, 4.0))
