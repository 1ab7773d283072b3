"""One process's share of a run's memory when it trains on several (training.distributed): the
single-device estimate (memory.estimate) turned into a per-GPU (per-process) figure.

DDP keeps a whole copy of the model and its optimizer state in every process and adds its gradient
buckets; FSDP shards parameters, gradients and optimizer state across the processes and gathers one
block at a time for compute. Activations belong to each process's own micro-batch, so neither divides them.
"""
from __future__ import annotations

from typing import Any

from studio.modelinfo.facts import ModelFacts

GRAD_BYTES = 4    # the trainable parameters' gradients are fp32 (memory.STATE_BYTES counts them so)
PREFETCH = 2      # FSDP2 gathers the next block while computing this one: two blocks unsharded at once
STRATEGIES = ("ddp", "fsdp")


def per_process(est: dict[str, Any], facts: ModelFacts, processes: int, strategy: str,
                weight_bytes: float) -> dict[str, Any]:
    """`est` (memory.estimate's dict) as one of `processes` processes holds it; adds `processes`,
    `strategy`, `parallel_bytes` (DDP buckets or FSDP's gathered blocks) and `all_processes_bytes`."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    out = {**est, "processes": processes, "strategy": strategy, "parallel_bytes": 0,
           "assumptions": list(est.get("assumptions") or [])}
    if est.get("problem") or processes <= 1:
        if not est.get("problem"):
            out["all_processes_bytes"] = out["total_bytes"]
        return out
    notes = out["assumptions"]
    unit = "GPU" if est["device"] == "cuda" else "process"
    if strategy == "ddp":
        out["parallel_bytes"] = GRAD_BYTES * est["trainable_params"]
        notes.append(f"DDP over {processes} processes: every {unit} holds the whole model and its optimizer "
                     f"state, plus gradient buckets for the all-reduce ({GRAD_BYTES} bytes per trainable "
                     "parameter: a second copy of the gradients)")
    else:
        out["weights_bytes"] = int(est["weights_bytes"] / processes)
        out["trainable_state_bytes"] = int(est["trainable_state_bytes"] / processes)
        block = (facts.blocks_params or 0) / (facts.layers or 1)
        out["parallel_bytes"] = int(PREFETCH * block * weight_bytes)
        notes.append(f"FSDP over {processes} processes: parameters, gradients and optimizer state are "
                     f"sharded, 1/{processes} of each per {unit}; {PREFETCH} blocks' parameters are gathered "
                     "whole at a time for compute (this one and the prefetched next)")
    notes.append(f"activations are per {unit} (each process trains its own micro-batch): not divided")
    out["total_bytes"] = (out["weights_bytes"] + out["trainable_state_bytes"] + out["activation_bytes"]
                          + out["overhead_bytes"] + out["parallel_bytes"])
    out["all_processes_bytes"] = out["total_bytes"] * processes
    return out


def effective_batch(batch_size: int, accumulation: int, processes: int) -> int:
    """Examples per optimizer step: micro-batch × gradient accumulation × processes."""
    return batch_size * accumulation * processes
