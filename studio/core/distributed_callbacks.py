"""Trainer callbacks that keep a run's processes in step: rank 0's stop/pause decision for all, each
rank's memory for rank 0 to record, and a progress file per rank for the supervisor's hang check.

Only installed when torchrun started several processes (core/distributed.py); every rank has the
same callbacks, so the collectives here are entered by all ranks at the same point of the loop.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from studio.core.distributed import World

_REASONS = (None, "paused", "cancelled")  # stop_reason ↔ the number broadcast for it


def progress_path(run_dir: Path, rank: int) -> Path:
    """RUN_DIR/ranks/rank-R.json: where rank R says how far it is."""
    return Path(run_dir) / "ranks" / f"rank-{rank}.json"


def write_progress(run_dir: Path, rank: int, step: int, stage: str) -> None:
    """{"rank", "pid", "step", "time", "stage"}, replaced atomically (a reader never sees half a file)."""
    path = progress_path(run_dir, rank)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"rank": rank, "pid": os.getpid(), "step": int(step), "time": time.time(),
                               "stage": stage}))
    os.replace(tmp, path)


class StopSync(TrainerCallback):
    """After the recorder's on_step_end: every rank takes rank 0's should_training_stop, should_save
    and stop reason, so a stop or pause seen only by rank 0 ends all ranks at the same step (a pause's
    checkpoint is written by all of them: each has its own RNG state to save)."""

    def __init__(self, reporter: Any, device: Any) -> None:
        self.reporter, self.device = reporter, device

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        import torch
        import torch.distributed as dist

        reason = getattr(self.reporter, "stop_reason", None)
        flags = torch.tensor([int(control.should_training_stop), int(control.should_save),
                              _REASONS.index(reason) if reason in _REASONS else 0], device=self.device)
        dist.broadcast(flags, src=0)
        stop, save, why = (int(v) for v in flags.tolist())
        control.should_training_stop, control.should_save = bool(stop), bool(save)
        if _REASONS[why] is not None and getattr(self.reporter, "stop_reason", None) is None:
            self.reporter.stop_reason = _REASONS[why]  # the outcome of a non-zero rank says the same


class RankMemory(TrainerCallback):
    """Before the recorder's on_log: gathers every rank's memory at each loss log and, on rank 0,
    adds rank{R}_rss_bytes (and rank{R}_cuda_peak_bytes on CUDA) to the logged values; the first
    loss log of a process also carries world_size and effective_batch (micro × accumulation × ranks)."""

    def __init__(self, w: World, effective_batch: int) -> None:
        self.world, self.effective_batch, self.first = w, effective_batch, True
        self._process = None

    def figures(self) -> dict[str, float]:
        """This process's resident memory, and its CUDA peak on a GPU."""
        import psutil
        import torch

        if self._process is None:
            self._process = psutil.Process(os.getpid())
        out = {"rss_bytes": float(self._process.memory_info().rss)}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            out["cuda_peak_bytes"] = float(torch.cuda.max_memory_allocated())
        return out

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        import torch.distributed as dist

        if not logs or "loss" not in logs:
            return
        gathered: list[Any] = [None] * self.world.size
        dist.all_gather_object(gathered, self.figures())
        if not self.world.main:
            return
        for rank, figures in enumerate(gathered):
            logs.update({f"rank{rank}_{name}": value for name, value in figures.items()})
        if self.first:
            logs.update(world_size=self.world.size, effective_batch=self.effective_batch)
            self.first = False


class ProgressFile(TrainerCallback):
    """Writes this rank's progress file at train begin, each step end, during evaluation (at most
    once a second) and after each save, with the stage: "training" only while steps run (the
    supervisor's stall timeout), "evaluating" / "saving" around those."""

    def __init__(self, run_dir: Path, w: World) -> None:
        self.run_dir, self.rank, self._last = Path(run_dir), w.rank, 0.0

    def _write(self, state: Any, stage: str) -> None:
        self._last = time.monotonic()
        write_progress(self.run_dir, self.rank, state.global_step, stage)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._write(state, "training")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # An evaluation or a save follows this step end; the supervisor's stall timeout is for steps.
        self._write(state, "evaluating" if control.should_evaluate else "saving" if control.should_save
                    else "training")

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if time.monotonic() - self._last >= 1.0:
            self._write(state, "evaluating")

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._write(state, "saving" if control.should_save else "training")

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._write(state, "training")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._write(state, "finishing")


def rank_callbacks(w: World, inner: list[Any], reporter: Any, run_dir: Path, effective_batch: int,
                   device: Any) -> list[Any]:
    """`inner` (the reporter's callbacks) wrapped in the ones a distributed run needs, in the order
    they must run: memory gathered before the recorder logs, rank 0's decision after it decides."""
    if not w.distributed:
        return inner
    return [RankMemory(w, effective_batch), *inner, StopSync(reporter, device), ProgressFile(run_dir, w)]
