"""One training attempt of a run, and what the worker does around it: the reporter the recipe
hears through, the live recorder (an out-of-memory retry replaces it), the run's final status.

Shared by the in-process worker (studio/worker/__main__.py) and each rank of a distributed run
(studio/worker/rank.py), so both train and finish a run the same way.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _attempt(home, db, run: dict, run_dir: Path, cfg, live: "_Live", watch) -> object:
    from studio.core import checkpoints
    from studio.core.train import run_training
    from studio.store import adapters, metrics
    from studio.worker.resume import announce_resume, quiet_load_report, restore_logged_metrics

    latest = checkpoints.latest_checkpoint(run_dir)
    # Metrics logged after the checkpoint (all of them, from scratch) will be logged again;
    # never keep a step twice.
    metrics.delete_after_step(db, run["id"], latest[0] if latest else -1)
    live.recorder.resume_at(latest[0] if latest else 0)  # the run's step until its first new one
    extra = [watch]
    if latest:
        restore_logged_metrics(db, run["id"], latest[1])  # steps up to the checkpoint, never holes
        extra.append(announce_resume(latest[1], run_dir, cfg.task, cfg.method.name,
                                     lambda line: print(line, file=sys.stderr, flush=True)))
    import torch

    live.recorder.device = "cuda" if torch.cuda.is_available() and cfg.training.device != "cpu" else "cpu"

    def adapter_dir() -> Path:
        name = adapters.unique_adapter_name(db, cfg.name)
        while home.adapter_dir(name).exists():  # a folder without a row: never overwrite it
            name = adapters.unique_adapter_name(db, name + "-")
        home.adapters_dir.mkdir(parents=True, exist_ok=True)
        return home.adapter_dir(name)

    reporter = _Reporter(live.recorder, extra)
    with quiet_load_report(latest is not None):  # the resume line says what the head gets back
        return run_training(cfg, run_dir, home.models_dir, reporter=reporter, resume=latest is not None,
                            adapter_dir=adapter_dir)


def _record_retry(home, db, run: dict, run_dir: Path, live: "_Live", cfg, step: int) -> None:
    """Store the smaller micro-batch as the run's config and say so, with a fresh recorder.

    The stored config (and runs/<id>/config.yaml) is what `studio show` prints and what a later
    `studio resume` trains with, so it must name the micro-batch the checkpoints continue with.
    The old recorder is closed first: its writer thread may still hold rows of the failed steps,
    which must land before _attempt deletes them."""
    from studio.config import dump_config
    from studio.core import checkpoints
    from studio.store import runs
    from studio.worker import oom
    from studio.worker.recorder import Recorder

    live.recorder.close()
    live.recorder = Recorder(home.db_path, run["id"]).start()
    runs.update_run(db, run["id"], config=cfg.to_dict())
    dump_config(cfg, run_dir / "config.yaml")
    latest = checkpoints.latest_checkpoint(run_dir)
    warning = oom.retry_warning(step, latest[0] if latest else None, cfg)
    live.recorder.warn([warning])
    print(warning, file=sys.stderr, flush=True)


class _Reporter:
    """The recorder as core.train's reporter, with extra Trainer callbacks (the OOM step watch)."""

    def __init__(self, recorder, extra: list) -> None:
        object.__setattr__(self, "_recorder", recorder)
        object.__setattr__(self, "_extra", extra)

    def __getattr__(self, name: str):
        return getattr(self._recorder, name)

    def __setattr__(self, name: str, value) -> None:  # whatever core sets is the recorder's
        setattr(self._recorder, name, value)

    @property
    def callbacks(self) -> list:
        """The recorder's callbacks and the extra ones."""
        return list(self._recorder.callbacks) + self._extra


class _Live:
    """The run's current recorder: an out-of-memory retry replaces it with a fresh one."""

    def __init__(self, recorder) -> None:
        self.recorder = recorder


def _finish(db, run: dict, outcome) -> None:
    from studio.store import adapters, runs

    runs.update_run(db, run["id"], step=outcome.step, max_steps=outcome.max_steps, stage=None)
    if outcome.status == "completed" and outcome.adapter_dir is not None:
        size = sum(f.stat().st_size for f in Path(outcome.adapter_dir).rglob("*") if f.is_file())
        adapters.register_adapter(
            db, name=Path(outcome.adapter_dir).name, path=str(outcome.adapter_dir), run_id=run["id"],
            # a preference-tuned adapter is a causal-LM adapter: chat, compare, merge and export take it so
            method=run["method"], base_model=run["model"], task=run["task"].replace("preference", "causal-lm"),
            trainable_params=outcome.trainable_params, total_params=outcome.total_params,
            size_bytes=size, metrics=outcome.final_metrics)
    runs.set_status(db, run["id"], outcome.status)
