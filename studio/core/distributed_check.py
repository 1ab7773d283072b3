"""What cannot train in several processes, refused before a run is recorded, each with its reason.

Called by core/config_check.py (studio train, the wizard's Start); a config with processes: 1 is
never refused here.
"""
from __future__ import annotations

from typing import Any

from studio.config import ConfigError

# FSDP shards parameters across GPUs: worth it (and verified through the Trainer) for full
# fine-tuning and for LoRA/QLoRA of a base too big for one GPU. The small methods train a few
# tensors on a replicated base, which DDP already does at no sharding cost.
FSDP_METHODS = ("full", "lora", "qlora")


def refuse_distributed(cfg: Any, cuda: bool | None = None) -> None:
    """Raise ConfigError (naming the field) when `cfg` asks for several processes it cannot use.

    `cuda`: whether this machine has a CUDA device (None: ask torch, only when the answer matters)."""
    spec, training = cfg.training.distributed, cfg.training
    if not spec.wanted:
        return
    path = "training.distributed"
    if training.ulmfit.gradual_unfreezing:
        raise ConfigError("ULMFiT gradual unfreezing changes which parameters train during the run, which "
                          "DDP and FSDP cannot follow (they fix the trained set when the model is wrapped); "
                          "use processes: 1, or keep discriminative_decay and turn gradual_unfreezing off",
                          f"{path}.processes")
    fsdp = spec.strategy == "fsdp"
    if fsdp and cfg.method.name not in FSDP_METHODS:
        raise ConfigError(f"fsdp shards full, lora and qlora; {cfg.method.name} trains a few tensors on a "
                          "base every GPU holds anyway: use strategy ddp", f"{path}.strategy")
    if fsdp and cfg.method.name == "qlora" and cfg.method.options.get("bits", 4) == 8:
        raise ConfigError("fsdp shards 4-bit QLoRA bases only (stored in the compute dtype); use bits: 4 "
                          "or strategy ddp", f"{path}.strategy")
    if fsdp and cfg.task == "preference":
        raise ConfigError("preference tuning keeps a reference pass beside the policy, which the studio "
                          "does not shard: use strategy ddp", f"{path}.strategy")
    if fsdp and training.ulmfit.active:
        raise ConfigError("ULMFiT's per-layer-group learning rates are not set up on sharded parameters: "
                          "use strategy ddp", f"{path}.strategy")
    if not fsdp:
        return  # DDP: every method trains under gloo on a CPU and nccl on GPUs (qlora's 4-bit base too)
    if training.device == "cpu":
        cuda = False
    elif cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    if not cuda:
        # accelerate would quietly train plain DDP on a CPU instead: say so rather than pretend.
        raise ConfigError("fsdp needs CUDA GPUs (on a CPU accelerate would fall back to plain DDP); use "
                          "strategy ddp here", f"{path}.strategy")
