"""`python -m studio.worker RUN_ID --home DIR`: train one run, detached from whoever started it.

The worker claims the run and starts heartbeats before importing torch, so liveness is visible
at once; every way out (completed, paused, cancelled, failed) ends with a status in the store.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path


class Cancelled(Exception):
    """Raised by SIGTERM before the training loop can honour a stop between steps."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns 0 when the run ended as the user asked (completed, paused, cancelled)."""
    parser = argparse.ArgumentParser(prog="studio-worker")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--home", required=True)
    args = parser.parse_args(argv)

    import psutil

    from studio.paths import Home
    from studio.store import commands, runs
    from studio.store.db import open_db
    from studio.worker.oom import OutOfMemory
    from studio.worker.recorder import Recorder

    home = Home(Path(args.home))
    db = open_db(home.db_path)
    run = runs.get_run(db, args.run_id)
    run_dir = home.run_dir(args.run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not runs.claim_running(db, args.run_id, os.getpid(), psutil.Process().create_time()):
        # Cancelled before this worker started, or another worker has it: train nothing.
        print(f"run {args.run_id} is {runs.get_run(db, args.run_id)['status']}, not queued: nothing to do",
              file=sys.stderr)
        return 0
    live = _Live(Recorder(home.db_path, args.run_id).start())
    _install_sigterm(live)
    try:
        if commands.pending_command(db, args.run_id):
            raise Cancelled()
        outcome = _train(home, db, run, run_dir, live)
        live.recorder.flush_now()
        _finish(db, run, outcome)
        return 0
    except (Cancelled, KeyboardInterrupt):
        live.recorder.flush_now()
        runs.set_status(db, args.run_id, "cancelled")
        return 0
    except OutOfMemory as exc:  # already explained in one line, with advice; memory already freed
        live.recorder.flush_now()
        runs.set_status(db, args.run_id, "failed", error=str(exc))
        print(exc, file=sys.stderr)
        return 1
    except BaseException as exc:  # any failure must end as 'failed' with the reason, never 'running'
        live.recorder.flush_now()
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        runs.set_status(db, args.run_id, "failed", error=detail)
        traceback.print_exc()
        return 1
    finally:
        live.recorder.close()
        commands.clear_commands(db, args.run_id)
        _start_next(db, home)  # the status is final by now: the machine is free for the next run


def _train(home, db, run: dict, run_dir: Path, live: "_Live") -> object:
    from studio.config import RunConfig
    from studio.worker import oom

    cfg = RunConfig.from_dict(run["config"], source=f"run {run['id']} config")

    def on_retry(smaller: RunConfig, step: int) -> None:
        _record_retry(home, db, run, run_dir, live, smaller, step)

    return oom.train_retrying(
        cfg, lambda c, watch: _attempt(home, db, run, run_dir, c, live, watch), on_retry)


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


def _start_next(db, home) -> None:
    """Hand the machine to the next queued run; a failure here must not change how this run ended."""
    try:
        from studio import jobs

        jobs.start_next(db, home)
    except Exception:
        traceback.print_exc()


def _install_sigterm(live: _Live) -> None:
    """SIGTERM: inside the loop, stop at the next step boundary; before it, cancel at once."""
    def handler(signum, frame):
        if live.recorder.in_loop:
            live.recorder.request("stop")
        else:
            raise Cancelled()

    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
