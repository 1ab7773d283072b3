"""The recorder: a Trainer callback that reports to the store without slowing the training loop.

Callbacks only append to an in-memory queue. A writer thread with its own SQLite connection wakes
every second: it commits queued metrics in one transaction, writes the heartbeat and step, and
reads stop/pause commands, which the callback turns into Trainer control flags between steps.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from studio.store import checkpoints as store_checkpoints
from studio.store import commands, metrics, runs
from studio.store.db import open_db
from studio.worker.memory import memory_metrics

# Trainer log keys → metric names in the store.
_RENAME = {"loss": "train_loss", "learning_rate": "lr", "grad_norm": "grad_norm", "epoch": "epoch"}
_SKIP_SUFFIXES = ("_runtime", "_samples_per_second", "_steps_per_second", "_per_second")


class Recorder:
    """Heartbeat/writer thread for one run, and the Trainer callback that feeds it.

    transformers is imported only when the callback is made, so the worker can claim its run and
    start heartbeats before the heavy imports."""

    def __init__(self, db_path: Path, run_id: int, interval: float = 1.0, device: str = "cpu"):
        self.db_path, self.run_id, self.interval, self.device = db_path, run_id, interval, device
        self.stop_reason: str | None = None  # 'paused' or 'cancelled' once a command is honoured
        self._requested: dict | None = None
        self._queue: list[tuple[int, str, float, float]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # held from taking the queue until its rows are committed
        self._step: int | None = None  # unknown until a step ends or resume_at names the checkpoint's
        self._step_time = 0.0  # seconds inside optimizer steps since the last loss log (for tokens/s)
        self._step_began: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._writer, name="studio-recorder", daemon=True)
        self._last_log: tuple[float, int] | None = None
        self.in_loop = False

    # --- lifecycle
    def start(self) -> "Recorder":
        """Start the heartbeat/writer thread (before heavy imports, so liveness shows at once)."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread after a last flush."""
        self._done.set()
        self._thread.join(timeout=10)

    def request(self, kind: str) -> None:
        """Ask the loop to stop or pause at the next step boundary (used by SIGTERM)."""
        self._requested = {"kind": kind}

    def requested(self) -> str | None:
        """A stop/pause command seen by the writer thread and not yet honoured."""
        return self._requested["kind"] if self._requested else None

    # --- reporter interface used by core.train
    def stage(self, text: str) -> None:
        """Record what the worker is doing before steps start (loading model...)."""
        self.in_loop = text == "training"  # SIGTERM waits for a step boundary only inside the loop
        self._db_write(lambda db: runs.update_run(db, self.run_id, stage=text))

    def warn(self, messages: list[str]) -> None:
        """Keep data warnings (truncated rows...) on the run."""
        if messages:
            self._db_write(lambda db: runs.add_warnings(db, self.run_id, messages))

    def set_max_steps(self, steps: int, trainable: int, total: int) -> None:
        """The run's step budget and parameter counts, known once data and model are loaded."""
        self._db_write(lambda db: runs.update_run(db, self.run_id, max_steps=steps,
                                                  trainable_params=trainable, total_params=total))

    def resume_at(self, step: int) -> None:
        """The run continues from `step` (its checkpoint's, 0 without one): the row says so at once."""
        self._step = step
        self._db_write(lambda db: runs.update_run(db, self.run_id, step=step))

    def checkpoint_saved(self, step: int, path: Path, removed: list[int]) -> None:
        """Register a complete checkpoint and forget rotated ones."""
        def write(db: Any) -> None:
            store_checkpoints.add_checkpoint(db, self.run_id, step, str(path))
            for old in removed:
                store_checkpoints.remove_checkpoint(db, self.run_id, old)
        self._db_write(write)

    @property
    def callbacks(self) -> list[Any]:
        """The Trainer callback that forwards step ends and logs to this recorder."""
        from transformers import TrainerCallback

        recorder = self

        class _Forward(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder.on_step_begin(args, state, control)

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder.on_step_end(args, state, control)

            def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
                recorder.on_log(args, state, control, logs)

        return [_Forward()]

    # --- Trainer events
    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._step_began = time.time()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._step_began is not None:
            self._step_time += time.time() - self._step_began
            self._step_began = None
        self._step = state.global_step
        kind = self.requested()
        if kind and self.stop_reason is None:
            control.should_training_stop = True
            control.should_save = kind == "pause"  # pause = a complete checkpoint, then exit
            self.stop_reason = "paused" if kind == "pause" else "cancelled"
        if control.should_save:
            self.flush_metrics()  # see on_log: a checkpoint is never ahead of the recorded metrics

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs:
            return
        now, step = time.time(), state.global_step
        rows = metric_rows(logs, step, now)
        if "loss" in logs:
            rows += self._throughput(now, step, state) + [
                (step, k, v, now) for k, v in memory_metrics(self.device).items()]
        with self._lock:
            self._queue.extend(rows)
        if control.should_save:
            # The Trainer logs, evaluates, then saves the checkpoint: these rows must be committed
            # before it is published, or a kill right after would leave the checkpoint ahead of the
            # metrics, and a resume from it would never log those steps again (holes in the curves).
            self.flush_metrics()

    def _throughput(self, now: float, step: int, state: Any) -> list[tuple[int, str, float, float]]:
        """Tokens per second of training since the last loss log.

        Only time inside optimizer steps counts: evaluation and checkpoint saves in between are not
        training, and counting them made every point after one read 10x lower than the rest."""
        tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
        last, self._last_log = self._last_log, (now, tokens)
        seconds, self._step_time = self._step_time, 0.0
        if last is None or seconds <= 0 or tokens <= last[1]:
            return []
        return [(step, "tokens_per_s", (tokens - last[1]) / seconds, now)]

    # --- writer thread
    def _writer(self) -> None:
        db = open_db(self.db_path)
        try:
            while True:
                finished = self._done.wait(self.interval)
                self._flush(db)
                if finished:
                    return
        finally:
            db.conn.close()

    def _flush(self, db: Any) -> None:
        self._write_metrics(db)
        runs.heartbeat(db, self.run_id, step=self._step)
        if self._requested is None:
            self._requested = commands.pending_command(db, self.run_id)

    def _write_metrics(self, db: Any) -> None:
        # Under the flush lock: a synchronous flush waits for rows the writer thread has taken
        # but not yet committed, so "flushed" means every row queued so far is in the store.
        with self._flush_lock:
            with self._lock:
                rows, self._queue = self._queue, []
            if rows:
                metrics.add_metrics(db, self.run_id, rows)

    def flush_now(self) -> None:
        """Write queued metrics synchronously (at the end of a run)."""
        self._db_write(self._flush)

    def flush_metrics(self) -> None:
        """Commit every queued metric row now, from the training thread (before a checkpoint)."""
        self._db_write(self._write_metrics)

    def _db_write(self, fn: Any) -> None:
        db = open_db(self.db_path)
        try:
            fn(db)
        finally:
            db.conn.close()


def metric_rows(logs: dict, step: int, wall_time: float | None) -> list[tuple[int, str, float, float | None]]:
    """A Trainer log entry → (step, name, value, wall time) rows, named as the store names them."""
    rows = []
    for key, value in logs.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or key.endswith(_SKIP_SUFFIXES):
            continue
        if key.startswith("train_") or key in ("total_flos", "num_input_tokens_seen", "step"):
            continue  # end-of-training summaries, not curves ("step" is log_history's own key)
        rows.append((step, _RENAME.get(key, key), float(value), wall_time))
    return rows
