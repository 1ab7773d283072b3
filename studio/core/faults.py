"""TEST-ONLY fault injection: make a run fail the way a real GPU would, on any machine.

Out-of-memory recovery (studio/worker/oom.py) can only be proven on a CPU if something raises the
error CUDA would raise. Nothing here is installed unless the variables below are set, and nothing in
the product sets them; tests and `bench/` do, in the environment of the worker they start.

    STUDIO_FAULT_OOM_AT_STEP=k              raise torch.OutOfMemoryError as optimizer step k begins
    STUDIO_FAULT_OOM_WHILE_BATCH_ABOVE=n    ... but only while the micro-batch is larger than n
                                            (so a retry with a smaller one gets past it)
    STUDIO_FAULT_KILL_AFTER_CHECKPOINT=k    SIGKILL the worker right after the checkpoint at step k
                                            is complete (a power cut before anything else runs)
    STUDIO_FAULT_HOLD_WHILE_FILE=PATH       after each optimizer step, wait while PATH exists (the
                                            heartbeat goes on; commands wait too): a test holds a
                                            run mid-training for as long as it needs, no longer
"""
from __future__ import annotations

import os
from typing import Any

OOM_AT_STEP = "STUDIO_FAULT_OOM_AT_STEP"
OOM_WHILE_BATCH_ABOVE = "STUDIO_FAULT_OOM_WHILE_BATCH_ABOVE"
KILL_AFTER_CHECKPOINT = "STUDIO_FAULT_KILL_AFTER_CHECKPOINT"
HOLD_WHILE_FILE = "STUDIO_FAULT_HOLD_WHILE_FILE"


def injected_callbacks() -> list[Any]:
    """The fault callbacks the environment asks for; none in normal use."""
    found = []
    at = os.environ.get(OOM_AT_STEP)
    if at:
        found.append(oom_at_step(int(at), int(os.environ.get(OOM_WHILE_BATCH_ABOVE, "0"))))
    kill = os.environ.get(KILL_AFTER_CHECKPOINT)
    if kill:
        found.append(kill_after_checkpoint(int(kill)))
    hold = os.environ.get(HOLD_WHILE_FILE)
    if hold:
        found.append(hold_while_file(hold))
    return found


def oom_at_step(step: int, while_batch_above: int = 0) -> Any:
    """A TrainerCallback raising torch.OutOfMemoryError when optimizer step `step` begins."""
    import torch
    from transformers import TrainerCallback

    class _OutOfMemoryAtStep(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            batch = args.per_device_train_batch_size
            if state.global_step + 1 == step and batch > while_batch_above:
                # Worded like the allocator's own message, so classification is tested on real text.
                raise torch.OutOfMemoryError(
                    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
                    f"23.54 GiB of which 1.06 GiB is free. (injected by {OOM_AT_STEP}={step} at "
                    f"micro-batch {batch})")

    return _OutOfMemoryAtStep()


def kill_after_checkpoint(step: int) -> Any:
    """A TrainerCallback that SIGKILLs this process once the checkpoint at `step` is complete.

    on_save runs after the checkpoint was published: whatever the worker had not written to the
    store by then is lost, exactly as with a kill -9 or a power cut at that moment."""
    import signal

    from transformers import TrainerCallback

    class _KillAfterCheckpoint(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == step:
                os.kill(os.getpid(), signal.SIGKILL)

    return _KillAfterCheckpoint()


def hold_while_file(path: str, poll_s: float = 0.02, most_s: float = 600.0) -> Any:
    """A TrainerCallback that, after each optimizer step, sleeps while `path` exists.

    Tests that must see a run mid-training (queued behind it, listed as running) hold it there
    instead of giving it thousands of steps and hoping the checks finish first. A held worker does
    not see stop requests, so a test that fails before removing the file must not leave it held
    for ever: the hold gives up after `most_s` seconds in all."""
    import time
    from pathlib import Path

    from transformers import TrainerCallback

    give_up = time.monotonic() + most_s

    class _HoldWhileFile(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            while Path(path).exists() and time.monotonic() < give_up:
                time.sleep(poll_s)

    return _HoldWhileFile()
