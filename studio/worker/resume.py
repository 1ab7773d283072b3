"""What a resumed run gets back from its checkpoint, and what it says about it (once, in words).

The store's metrics are flushed before a checkpoint is published (recorder.py); restoring the rows
of the checkpoint's own log on resume is the second line of defence, for stores written before
that or by a worker killed in between: a checkpoint must never be ahead of its metrics.
"""
from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.store import metrics
from studio.worker.recorder import metric_rows

# transformers' loader logs this report when a head is (re)initialized: on a resume it is
# misleading, since the head's trained weights come from the checkpoint right after.
LOAD_REPORT_MARKERS = ("LOAD REPORT", "newly initialized")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_NOT_WEIGHTS = ("optimizer.pt", "scheduler.pt", "training_args.bin")


def restore_logged_metrics(db: Any, run_id: int, checkpoint: Path) -> int:
    """Add the rows of the checkpoint's log_history the store lacks; returns how many were added."""
    state_file = Path(checkpoint) / "trainer_state.json"
    if not state_file.is_file():
        return 0
    history = json.loads(state_file.read_text()).get("log_history") or []
    rows = [row for entry in history if isinstance(entry.get("step"), int)
            for row in metric_rows(entry, entry["step"], None)]
    count = "SELECT COUNT(*) FROM metrics WHERE run_id = ?"
    before = db.execute(count, [run_id]).fetchone()[0]
    metrics.add_metrics(db, run_id, rows)  # rows already there are kept as they are
    return db.execute(count, [run_id]).fetchone()[0] - before


def restored_parts(checkpoint: Path, task: str, method: str) -> list[str]:
    """What the Trainer reloads from this checkpoint, as people say it."""
    names = {p.name for p in Path(checkpoint).iterdir() if p.is_file()}
    parts = []
    weights = [n for n in names if n.endswith(_WEIGHT_SUFFIXES) and n not in _NOT_WEIGHTS
               and not n.startswith("rng_state")]
    if weights:
        what = "model" if method == "full" else "adapter"
        parts.append(f"{what} + head weights" if task == "classification" and method != "full" else f"{what} weights")
    parts += [label for file, label in (("optimizer.pt", "optimizer"), ("scheduler.pt", "scheduler"))
              if file in names]
    if any(n.startswith("rng_state") for n in names):
        parts.append("RNG")
    return parts


def resume_line(step: int, checkpoint: Path, run_dir: Path, task: str, method: str) -> str:
    """'resumed at step 40 from checkpoints/checkpoint-40: adapter + head weights, optimizer, ...'."""
    try:
        where = Path(checkpoint).relative_to(run_dir).as_posix()
    except ValueError:
        where = str(checkpoint)
    return f"resumed at step {step} from {where}: {', '.join(restored_parts(checkpoint, task, method))}"


class _DropLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(marker in text for marker in LOAD_REPORT_MARKERS)


@contextlib.contextmanager
def quiet_load_report(active: bool) -> Iterator[None]:
    """While active (a resume), drop transformers' 'newly initialized' load report."""
    if not active:
        yield
        return
    logger, quiet = logging.getLogger("transformers.modeling_utils"), _DropLoadReport()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def announce_resume(checkpoint: Path, run_dir: Path, task: str, method: str, say: Any) -> Any:
    """A TrainerCallback that says once, after the Trainer has reloaded the checkpoint, what came back."""
    from transformers import TrainerCallback

    class _Announce(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            say(resume_line(state.global_step, checkpoint, run_dir, task, method))

    return _Announce()
