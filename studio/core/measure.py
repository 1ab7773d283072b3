"""A measured memory pre-flight: the run's own recipe (core.train.run_training, so packing,
checkpointing and kernels apply as they will) for 3 optimizer steps on its longest rows, in a
temporary run folder; the peak is read beside the one estimate (studio.modelinfo.memory).

Runs in the calling process — `studio probe --measure`, itself a child of the GUI — and writes
nothing to the data home except the converted-model cache a run would fill anyway.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from studio.config import RunConfig

MEASURE_STEPS = 3
SAMPLE_S = 0.005         # RSS sampling period: a step of a tiny model takes milliseconds
MAX_UNVALIDATED = 50     # up to this many rows prepare_data holds nothing out (see core/data.py)


class MeasureError(RuntimeError):
    """The measurement could not run (out of memory, a failing step); the message says why."""


def longest_rows(data: Any, tokenizer: Any, cfg: RunConfig) -> list[tuple[int, int]]:
    """(row index, tokens as the run tokenizes them) of the micro-batch's worth of longest rows."""
    from studio.core.tokenize import tokenize_rows

    label2id = {n: i for i, n in enumerate(data.label_names)} if data.label_names else None
    args = dict(max_length=cfg.data.max_length, train_on_prompt=cfg.data.train_on_prompt, label2id=label2id)
    ds, _ = tokenize_rows(data.train, data.format, tokenizer, **args)
    if len(ds) == len(data.train):
        lengths = list(enumerate(len(ids) for ids in ds["input_ids"]))
    else:  # rows whose answer truncation cut off are dropped by the run: find them one by one
        lengths = []
        for i, row in enumerate(data.train):
            try:
                one, _ = tokenize_rows([row], data.format, tokenizer, **args)
            except ValueError:
                continue
            lengths.append((i, len(one["input_ids"][0])))
    lengths.sort(key=lambda x: (-x[1], x[0]))
    return lengths[:cfg.training.batch_size]


def measurement_config(cfg: RunConfig, data: Any, picked: list[tuple[int, int]], folder: Path) -> RunConfig:
    """`cfg` on the picked rows only: 3 steps of one micro-batch each, nothing evaluated or kept."""
    rows = [dict(data.train[i]) for i, _ in picked]
    if data.label_names:
        # Labels do not change memory; relabelling over the label names keeps >= 2 distinct labels
        # (prepare_data's rule) whatever the longest rows' own labels are. One row is written twice.
        rows = [dict(r) for r in rows * (2 if len(rows) == 1 else 1)]
        for j, row in enumerate(rows):
            row["label"] = data.label_names[j % len(data.label_names)]
    train = folder / "longest.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    validation = None
    if len(rows) > MAX_UNVALIDATED:  # more rows would be split; a one-row validation file prevents it
        validation = folder / "one.jsonl"
        validation.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")
    d = replace(cfg.data, train=str(train), validation=str(validation) if validation else None,
                val_fraction=None, format=data.format, columns={})
    t = replace(cfg.training, max_steps=MEASURE_STEPS, epochs=None, gradient_accumulation=1,
                save_steps=10 ** 9, eval_steps=10 ** 9, logging_steps=1, oom_retry=False)
    return replace(cfg, name=f"{cfg.name}-measure", data=d, training=t)


class PeakRss:
    """Peak resident memory of this process while in the block, sampled and checked against maxrss;
    `mark()` starts a new phase (training) whose peak is kept apart from loading's."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.baseline = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def sample(self) -> None:
        """Read the RSS now."""
        self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> "PeakRss":
        self._maxrss = _maxrss()
        self.loading_peak: int | None = None
        self._thread.start()
        return self

    def mark(self) -> None:
        """The model is loaded and training starts: from here on the peak is the training's."""
        self.sample()
        self.loading_peak, self._maxrss = self.peak, _maxrss()
        self.peak = self._proc.memory_info().rss

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        # ru_maxrss is the lifetime peak: when it rose inside the block, it is the block's exact peak.
        if (after := _maxrss()) > self._maxrss:
            self.peak = max(self.peak, after)


def _maxrss() -> int:
    """This process's peak RSS in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def observer(seen: dict[str, Any], on_step: Callable[[], None], on_begin: Callable[[], None]) -> Any:
    """A Trainer callback recording each batch's shape (packed or padded) and saving nothing."""
    from transformers import TrainerCallback

    class Observer(TrainerCallback):
        def on_train_begin(self, args, state, control, train_dataloader=None, **kw):
            on_begin()
            # accelerate's DataLoaderShard iterates the plain DataLoader it wraps
            loader = getattr(train_dataloader, "base_dataloader", train_dataloader)
            collate = loader.collate_fn

            def recording(features):  # observation only: the batch passes through unchanged
                batch = collate(features)
                ids = batch["input_ids"]
                seen.setdefault("batches", []).append(
                    {"shape": list(ids.shape), "packed": "attention_mask" not in batch and ids.shape[0] == 1
                     and len(features) > 1, "rows": len(features)})
                return batch

            loader.collate_fn = recording

        def on_step_end(self, args, state, control, **kw):
            control.should_save = control.should_evaluate = False  # a pre-flight keeps nothing
            seen["steps"] = state.global_step
            on_step()

    return Observer()


def measure(cfg: RunConfig, data: Any, models_dir: Path, num_labels: int = 2,
            stage: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Train `cfg` for 3 steps on its longest rows; measured peak, the estimate and their ratio."""
    import torch

    from studio.core.models import load_tokenizer, model_folder
    from studio.core.probe import config_estimate
    from studio.core.train import NullReporter, pick_device, run_training

    say = stage or (lambda text, fraction: None)
    device, precision = pick_device(cfg.training)
    say("finding the longest rows", 0.05)
    tokenizer = load_tokenizer(model_folder(cfg.model, Path(models_dir), cfg.trust_remote_code),
                               cfg.trust_remote_code)
    picked = longest_rows(data, tokenizer, cfg)
    seen: dict[str, Any] = {}
    rss: PeakRss | None = None

    def began() -> None:
        # Loading can peak above training (on the CPU the weights file is mapped while it is copied):
        # the pre-flight's figure is the training's peak, loading's is reported beside it.
        if device == "cuda":
            seen["loading_peak"] = torch.cuda.max_memory_allocated() - baseline
            torch.cuda.reset_peak_memory_stats()
        elif rss is not None:
            rss.mark()
            seen["loading_peak"] = rss.loading_peak - rss.baseline

    def stepped() -> None:
        if rss is not None:
            rss.sample()  # the step's end is where the optimizer state has just been allocated
        say(f"step {seen['steps']} of {MEASURE_STEPS}", 0.3 + 0.7 * seen["steps"] / MEASURE_STEPS)

    class Reporter(NullReporter):
        callbacks = [observer(seen, stepped, began)]

        def stage(self, text: str) -> None:
            say(text, 0.1 if text != "training" else 0.3)

    with tempfile.TemporaryDirectory(prefix="studio-measure-") as tmp:
        small = measurement_config(cfg, data, picked, Path(tmp))
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        baseline = 0
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            baseline = torch.cuda.memory_allocated()
        start = time.perf_counter()
        try:
            with PeakRss() as rss:
                run_training(small, run_dir, Path(models_dir), reporter=Reporter())
        except torch.OutOfMemoryError as e:
            raise MeasureError(f"out of memory on {device} with a micro-batch of {len(picked)} of the longest "
                               f"rows ({picked[0][1]} tokens): {str(e).splitlines()[0]}") from None
        seconds = time.perf_counter() - start
    if device == "cuda":
        peak, what = torch.cuda.max_memory_allocated() - baseline, "torch.cuda.max_memory_allocated while training"
        reserved = torch.cuda.max_memory_reserved()
    else:
        peak, what, reserved = rss.peak - rss.baseline, "peak RSS while training, over the process before loading", None
    batch = (seen.get("batches") or [{"shape": [0, 0], "packed": False, "rows": 0}])[0]
    tokens = batch["shape"][0] * batch["shape"][1]
    est = config_estimate(cfg, num_labels, tokens=tokens, packed=batch["packed"])
    total = est.get("total_bytes")
    return {
        "model": cfg.model, "method": cfg.method.name, "device": device, "precision": precision,
        "steps": seen.get("steps", 0), "rows": [{"index": i, "tokens": n} for i, n in picked],
        "batch_shape": batch["shape"], "packed": batch["packed"], "batch_tokens": tokens,
        "measured_bytes": int(peak), "measured": what, "cuda_reserved_bytes": reserved,
        "loading_peak_bytes": seen.get("loading_peak"),
        "estimate_bytes": total, "ratio": peak / total if total else None, "estimate": est,
        "seconds": round(seconds, 2), "pid": os.getpid(),
    }
