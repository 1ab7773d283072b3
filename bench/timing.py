"""Timing helpers shared by the throughput benches: one timed run (Result), the Trainer callback that
stamps the training loop, quiet output, and ratios of runs made side by side (A,B / B,A ...)."""
from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """One timed training run."""

    section: str
    variant: str
    repeat: int
    loop_s: float  # on_train_begin -> on_train_end
    tokens: int  # non-padding tokens processed in the loop
    steps: int
    total_s: float  # the whole call, model loading included (for information only)
    cpu_s: float  # CPU time of the whole process (all threads) in the loop window
    extra: dict[str, Any] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)  # train loss of every logged step

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.loop_s

    @property
    def step_ms(self) -> float:
        return 1000 * self.loop_s / self.steps


def loop_timer() -> Any:
    """A Trainer callback stamping the training loop's start and end (the same window in every run)."""
    from transformers import TrainerCallback

    class LoopTimer(TrainerCallback):
        begin = end = None
        tokens_seen = steps = 0
        save_s = 0.0  # time inside the loop spent writing checkpoints (log/step end -> on_save)
        last = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.losses: list[float] = []  # the train loss of every logged step
            self.cpu_begin = time.process_time()
            self.begin = self.last = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.last = time.perf_counter()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            self.last = time.perf_counter()
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            now = time.perf_counter()
            self.save_s += now - self.last
            self.last = now

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.end = time.perf_counter()
            self.cpu_end = time.process_time()
            self.tokens_seen = int(getattr(state, "num_input_tokens_seen", 0) or 0)
            self.steps = state.global_step

        @property
        def cpu_seconds(self) -> float:
            return self.cpu_end - self.cpu_begin

        @property
        def seconds(self) -> float:
            if self.begin is None or self.end is None:
                raise RuntimeError("the training loop did not run (no on_train_begin/on_train_end)")
            return self.end - self.begin

    return LoopTimer()


@contextlib.contextmanager
def quiet() -> Any:
    """Swallow what the Trainer prints (its PrinterCallback prints every log when tqdm is off) in both sides."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def quiet_fd() -> Any:
    """Send file descriptor 1 to /dev/null for a while (for output written below Python)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


class Timed:
    """A reporter wrapper that adds the loop timer to the wrapped reporter's callbacks."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.timer = loop_timer()
        self.callbacks = list(inner.callbacks) + [self.timer]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def median_ratio(pairs: list[tuple[Result, Result]], metric: str) -> float:
    return statistics.median(getattr(a, metric) / getattr(b, metric) for a, b in pairs)


def alternate(repeats: int, a: Any, b: Any) -> list[tuple[Result, Result]]:
    """Run a and b `repeats` times in the order A,B / B,A / A,B ...; returns (a, b) pairs."""
    pairs = []
    for i in range(repeats):
        if i % 2 == 0:
            ra = a(i)
            rb = b(i)
        else:
            rb = b(i)
            ra = a(i)
        pairs.append((ra, rb))
    return pairs


def print_table(results: list[Result]) -> None:
    head = f"{'section':<8} {'variant':<14} {'rep':>3} {'steps':>5} {'tokens':>7} {'loop s':>7} " \
           f"{'tokens/s':>9} {'step ms':>8} {'cpu s':>7} {'total s':>7}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        notes = " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.extra.items())
        print(f"{r.section:<8} {r.variant:<14} {r.repeat:>3} {r.steps:>5} {r.tokens:>7} {r.loop_s:>7.2f} "
              f"{r.tokens_per_s:>9.0f} {r.step_ms:>8.1f} {r.cpu_s:>7.2f} {r.total_s:>7.2f}  {notes}")
