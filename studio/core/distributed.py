"""Rank-awareness of the one recipe: which rank this process is, the Trainer arguments for DDP/FSDP,
and the check that the Trainer really joined the process group torchrun set up.

torchrun (the worker starts it, studio/worker/rank.py is each rank) sets RANK, LOCAL_RANK and
WORLD_SIZE; without them this is a one-process run and nothing here changes the recipe. The Trainer
and accelerate do the distributed work itself (DDP/FSDP wrapping, sharded data, gathered token
counts and losses, one RNG state per rank in checkpoints).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# Methods whose trained parameters may get no gradient in a forward pass: DDP must then search the
# graph every step (ddp_find_unused_parameters=True). Every other method uses all it trains, and the
# search would cost every step for nothing (tests/core/test_distributed_methods.py trains each with
# find_unused_parameters=False under two gloo processes).
UNUSED_PARAMETER_METHODS: frozenset[str] = frozenset()


class DistributedSetupError(RuntimeError):
    """torchrun started several processes but the Trainer did not join them into one group."""


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes (from torchrun's environment)."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Whether this is rank 0: the only one that reports to the store and writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether there is more than one process."""
        return self.size > 1


def world(env: dict[str, str] | None = None) -> World:
    """This process's rank, local rank and world size as torchrun set them (one process without)."""
    env = os.environ if env is None else env
    try:
        return World(int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1)))
    except ValueError as e:
        raise DistributedSetupError(f"RANK / LOCAL_RANK / WORLD_SIZE are not whole numbers: {e}") from None


def use_local_device(w: World, device: str) -> None:
    """On CUDA, make this rank's GPU the current one before the model loads (a quantized base is
    placed on the current device; accelerate would pick the same one later)."""
    if w.distributed and device == "cuda":
        import torch

        found = torch.cuda.device_count()
        if w.local_rank >= found:  # NCCL would fail later with two ranks on one GPU, less clearly
            raise DistributedSetupError(
                f"rank {w.rank} needs GPU {w.local_rank} but this machine shows {found}: set "
                f"training.distributed.processes to at most {found} per machine (or device: cpu, with gloo)")
        torch.cuda.set_device(w.local_rank)


def model_load_kwargs(strategy: str, kwargs: dict[str, Any], w: World | None = None) -> dict[str, Any]:
    """`from_pretrained` kwargs as FSDP needs them: QLoRA's 4-bit weights stored in the compute dtype,
    so FSDP can shard them in one flat dtype with the rest (bitsandbytes' bnb_4bit_quant_storage)."""
    w = w or world()
    quant = kwargs.get("quantization_config")
    if w.distributed and strategy == "fsdp" and getattr(quant, "load_in_4bit", False):
        quant.bnb_4bit_quant_storage = kwargs.get("dtype") or quant.bnb_4bit_compute_dtype
    return kwargs


def trainer_arguments(method: str, strategy: str, device: str, w: World) -> dict[str, Any]:
    """TrainingArguments kwargs for this rank: the backend, and DDP's or FSDP2's settings."""
    if not w.distributed:
        return {}
    # use_cpu (set from the device by core/train.py) is what makes the Trainer join the group on a
    # CPU: without it torchrun's processes would each train alone (see check_joined).
    kwargs: dict[str, Any] = {"ddp_backend": "nccl" if device == "cuda" else "gloo"}
    if strategy == "fsdp":
        # FSDP2 through accelerate: each decoder block is sharded on its own (the model's
        # _no_split_modules); the full state dict is gathered for saving (see gather_state_dict).
        kwargs.update(fsdp="full_shard auto_wrap",
                      fsdp_config={"version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                                   "state_dict_type": "FULL_STATE_DICT", "reshard_after_forward": True})
    else:
        kwargs["ddp_find_unused_parameters"] = method in UNUSED_PARAMETER_METHODS
    return kwargs


def check_joined(args: Any, w: World) -> None:
    """Raise unless the Trainer's arguments and torch.distributed agree with torchrun's world.

    Call once the Trainer has set up its devices (after it is built): a mismatch means every process
    would train the whole run alone, into the same folder."""
    import torch.distributed as dist

    if not w.distributed:
        return
    joined = dist.is_available() and dist.is_initialized()
    group = dist.get_world_size() if joined else 1
    if group != w.size or args.world_size != w.size or args.process_index != w.rank:
        raise DistributedSetupError(
            f"torchrun started {w.size} processes, but this one (rank {w.rank}) trains in a group of "
            f"{args.world_size} as process {args.process_index} (torch.distributed: "
            f"{'a group of ' + str(group) if joined else 'not initialised'}); each process would train the "
            "whole run alone into the same folder. On a machine without CUDA the Trainer needs use_cpu "
            "and the gloo backend.")


def check_same_checkpoint(step: int | None, w: World) -> None:
    """Raise on every rank unless all resume from the same checkpoint step (None: from the start).

    On machines that do not share the run folder, other nodes would start over while rank 0 resumes."""
    if not w.distributed:
        return
    import torch.distributed as dist

    steps: list[Any] = [None] * w.size
    dist.all_gather_object(steps, step)
    if len(set(steps)) > 1:
        seen = ", ".join(f"rank {r}: {'none' if s is None else f'checkpoint-{s}'}" for r, s in enumerate(steps))
        raise DistributedSetupError(
            f"the ranks do not see the same checkpoints ({seen}): a node does not see the run folder of "
            "node 0; share it (a shared filesystem) or copy node 0's checkpoints/ to every node, then resume")


def is_fsdp(trainer: Any) -> bool:
    """Whether the trainer shards the model with FSDP."""
    return bool(getattr(trainer, "is_fsdp_enabled", False))


def gather_state_dict(trainer: Any) -> dict[str, Any] | None:
    """The full state dict of a sharded model (collective: every rank calls it; rank 0 gets it)."""
    return trainer.accelerator.get_state_dict(trainer.model)


def wait_for_everyone(trainer: Any) -> None:
    """A barrier across the run's processes (nothing with one process)."""
    trainer.accelerator.wait_for_everyone()
