"""The `training.distributed:` section of a run config: how many processes train the run, and how.

Torch-free like studio/config.py (the window reads it). processes: 1 (the default) trains in the
worker's own process, as always; more starts the run through torchrun (studio/worker/rank.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt

STRATEGIES = ("ddp", "fsdp")


@dataclass
class DistributedSpec:
    """Several processes (one per GPU) training one run through PyTorch's launcher (torchrun)."""

    processes: Any = opt(1, "Processes (one per GPU) that train the run: a number, or auto = every "
                         "visible GPU (1 without one); 1 trains in the worker itself")
    strategy: str = opt("ddp", "ddp: every process holds the whole model | fsdp: parameters, gradients "
                        "and optimizer state sharded across GPUs (CUDA only; full, lora, qlora)",
                        choices=STRATEGIES)
    stall_timeout_s: float = opt(600.0, "Seconds without a step on any process before the run's group is "
                                 "ended as hung", min=1.0, max=7 * 24 * 3600.0)

    def __post_init__(self) -> None:
        p = self.processes
        if p == "auto":
            return
        if isinstance(p, bool) or not isinstance(p, int):
            if isinstance(p, float) and p.is_integer():
                p = self.processes = int(p)
            else:
                raise ConfigError(f"expected a whole number >= 1 or auto, got {p!r}", "processes")
        if p < 1:
            raise ConfigError(f"must be >= 1 or auto, got {p}", "processes")
        if p > 1024:
            raise ConfigError(f"must be <= 1024, got {p}", "processes")

    @property
    def wanted(self) -> bool:
        """Whether the config asks for more than the worker's own process (auto may still be 1)."""
        return self.processes == "auto" or self.processes > 1


def resolve_processes(spec: DistributedSpec, gpus: int) -> int:
    """The number of processes to start: `processes`, or auto = `gpus` visible GPUs (1 without one)."""
    return max(1, gpus) if spec.processes == "auto" else int(spec.processes)


def build_distributed(value: Any) -> DistributedSpec:
    """The section from its YAML value (a mapping, or absent); errors name `distributed.FIELD`."""
    from studio.config import build_dataclass

    if isinstance(value, DistributedSpec):
        return value
    return build_dataclass(DistributedSpec, value, "distributed")
