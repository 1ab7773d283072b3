"""The transformers Trainer, with checkpoints that are atomic and rotated by the studio."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from transformers import Trainer

from studio.core import checkpoints


class StudioTrainer(Trainer):
    """Trainer whose checkpoints appear under checkpoints/ only once complete (see checkpoints.py)."""

    def __init__(self, *args: Any, run_dir: Path, keep_checkpoints: int,
                 on_checkpoint: Callable[[int, Path, list[int]], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run_dir = Path(run_dir)
        self.keep_checkpoints = keep_checkpoints
        self.on_checkpoint = on_checkpoint

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        # The Trainer writes into args.output_dir (the staging folder); we publish it atomically.
        super()._save_checkpoint(model, trial)
        step = self.state.global_step
        staged = Path(self.args.output_dir) / f"checkpoint-{step}"
        final = checkpoints.publish(staged, self.run_dir, step)
        removed = checkpoints.rotate(self.run_dir, self.keep_checkpoints)
        if self.on_checkpoint:
            self.on_checkpoint(step, final, removed)


def accuracy_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy from argmax predictions (see argmax_logits)."""
    import numpy as np

    preds, labels = eval_pred.predictions, eval_pred.label_ids
    return {"accuracy": float(np.mean(np.asarray(preds) == np.asarray(labels)))}


def argmax_logits(logits: Any, labels: Any) -> Any:
    """Keep only the predicted class, so evaluation does not hold every logit in memory."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)
