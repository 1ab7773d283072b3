"""Out of memory: recognise it, free the memory, retry with a smaller micro-batch, or fail with advice.

A retry keeps the effective batch (micro-batch × gradient accumulation) exactly equal, so one
optimizer step still sees the same examples and the Trainer's resume arithmetic (steps per epoch,
batches to skip in the current epoch) maps the checkpoint's optimizer step to the same data
position: the resumed run continues where it was, only with more, smaller forward passes.
"""
from __future__ import annotations

import re
import traceback
from typing import Any, Callable, TypeVar

from studio.config import RunConfig

T = TypeVar("T")

# TrainingSpec.gradient_accumulation's upper limit: a plan beyond it could not be stored and resumed.
MAX_ACCUMULATION = 1024
# How a retry warning starts; the monitor picks these out of the run's warnings by it.
RETRY_PREFIX = "Out of memory at step"
_ALLOC = re.compile(r"Tried to allocate ([\d.]+ ?[KMGT]i?B)")
# Messages of out-of-memory errors that do not arrive as torch.OutOfMemoryError (cuBLAS, CUDA
# runtime, bitsandbytes' kernels); accelerate's own list is checked as well.
_MESSAGES = ("CUDA out of memory", "CUDA error: out of memory", "CUBLAS_STATUS_ALLOC_FAILED",
             "cudaErrorMemoryAllocation")


class OutOfMemory(RuntimeError):
    """A run that ran out of memory for good; the message is one line: cause and advice."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's OutOfMemoryError and the RuntimeErrors CUDA libraries raise instead, wrapped or not."""
    import torch
    from accelerate.utils.memory import should_reduce_batch_size

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, torch.OutOfMemoryError) or should_reduce_batch_size(exc):
            return True
        if isinstance(exc, RuntimeError) and any(m in str(exc) for m in _MESSAGES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def smaller_micro_batch(batch_size: int, accumulation: int) -> tuple[int, int] | None:
    """(micro-batch, accumulation) at most half as large with the same product; None at micro-batch 1."""
    effective = batch_size * accumulation
    # The largest divisor of the effective batch not above half the micro-batch: 16 → 8, 6 → 3,
    # 5 → 1 (× 5); a plain halving of an odd size would change the effective batch.
    for smaller in range(batch_size // 2, 0, -1):
        if effective % smaller == 0 and effective // smaller <= MAX_ACCUMULATION:
            return smaller, effective // smaller
    return None


def with_micro_batch(cfg: RunConfig, batch_size: int, accumulation: int) -> RunConfig:
    """The same config with another micro-batch and accumulation (validated like a file)."""
    data = cfg.to_dict()
    data["training"] = {**data["training"], "batch_size": batch_size, "gradient_accumulation": accumulation}
    return RunConfig.from_dict(data, source="out-of-memory retry")


def advice(cfg: RunConfig) -> list[str]:
    """Concrete changes that lower peak memory, with this config's numbers filled in."""
    t, tips = cfg.training, []
    plan = smaller_micro_batch(t.batch_size, t.gradient_accumulation)
    if plan:
        tips.append(f"training.batch_size {t.batch_size} → {plan[0]} with gradient_accumulation "
                    f"{t.gradient_accumulation} → {plan[1]} (keeps the effective batch "
                    f"{t.batch_size * t.gradient_accumulation})")
    ac = t.activation_checkpointing
    if ac == "off":
        tips.append("training.activation_checkpointing: on")
    elif isinstance(ac, dict):
        tips.append(f"training.activation_checkpointing: on (every block, not every {ac['every_n']})")
    elif ac == "on":
        tips.append("training.activation_checkpointing: offload")
    if cfg.method.name == "full":
        tips.append("method.name: qlora (or lora) instead of full fine-tuning")
    elif cfg.method.name != "qlora":
        tips.append("method.name: qlora (a 4-bit base)")
    if cfg.data.max_length > 8:
        tips.append(f"data.max_length {cfg.data.max_length} → {max(8, cfg.data.max_length // 2)}")
    return tips


def failure_message(cfg: RunConfig, step: int | None, retries: int, exc_text: str) -> str:
    """One line: where memory ran out, with what, and what to change."""
    t = cfg.training
    where = f"at step {step}" if step is not None else "before training started (loading the model)"
    alloc = _ALLOC.search(exc_text)
    tried = f", trying to allocate {alloc.group(1)}" if alloc else ""
    after = f", after {retries} retr{'y' if retries == 1 else 'ies'} with smaller micro-batches" if retries else ""
    tips = advice(cfg)
    if step is None:  # the micro-batch does not matter before the first step
        tips = [tip for tip in tips if not tip.startswith("training.")]
        tips.append("a smaller model")
    return (f"Out of memory {where}{tried} with batch_size {t.batch_size} × gradient_accumulation "
            f"{t.gradient_accumulation}{after}. Try: " + "; ".join(tips))


def retry_warning(step: int, checkpoint: int | None, cfg: RunConfig) -> str:
    """The run warning recorded for one retry (cfg is the config of the retry)."""
    t = cfg.training
    start = f"the checkpoint at step {checkpoint}" if checkpoint else "the start (no checkpoint yet)"
    return (f"{RETRY_PREFIX} {step}: retried from {start} with batch {t.batch_size} × accumulation "
            f"{t.gradient_accumulation} (effective batch {t.batch_size * t.gradient_accumulation} unchanged)")


def free_memory() -> None:
    """Collect the failed attempt's model, optimizer and activations and hand CUDA's cache back."""
    from accelerate.utils.memory import clear_device_cache

    clear_device_cache(garbage_collection=True)


class StepWatch:
    """Which optimizer step is in flight: None before the loop begins and after it ends."""

    def __init__(self) -> None:
        self.step: int | None = None

    def callback(self) -> Any:
        """The TrainerCallback that keeps `step` current."""
        from transformers import TrainerCallback

        watch = self

        class _Watch(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                watch.step = state.global_step + 1  # an evaluation after step k still counts as k

            def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                watch.step = None  # saving the adapter: a smaller micro-batch would not help

        return _Watch()


def train_retrying(cfg: RunConfig, attempt: Callable[[RunConfig, Any], T],
                   on_retry: Callable[[RunConfig, int], None]) -> T:
    """Run attempt(cfg, callback); on out-of-memory retry with smaller micro-batches while allowed.

    attempt must install `callback` in its Trainer: it tells which step ran out of memory (outside
    the training loop a smaller micro-batch cannot help). on_retry(new_cfg, step) records a retry
    before the next attempt. When retrying is off or exhausted, raises OutOfMemory."""
    retries = 0
    while True:
        watch = StepWatch()
        try:
            return attempt(cfg, watch.callback())
        except BaseException as exc:
            if not is_out_of_memory(exc):
                raise
            traceback.print_exc()  # the allocator's full report goes to the worker log
            step, text = watch.step, str(exc)
            t = cfg.training
            plan = smaller_micro_batch(t.batch_size, t.gradient_accumulation)
            plan = plan if t.oom_retry and step is not None else None
        # Outside the except block: the traceback, and with it every frame holding the model, is gone.
        free_memory()
        if plan is None:
            raise OutOfMemory(failure_message(cfg, step, retries, text)) from None
        cfg, retries = with_micro_batch(cfg, *plan), retries + 1
        on_retry(cfg, step)
