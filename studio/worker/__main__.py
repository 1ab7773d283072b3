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
    recorder = Recorder(home.db_path, args.run_id).start()
    _install_sigterm(recorder)
    try:
        if commands.pending_command(db, args.run_id):
            raise Cancelled()
        outcome = _train(home, db, run, run_dir, recorder)
        recorder.flush_now()
        _finish(db, run, outcome)
        return 0
    except (Cancelled, KeyboardInterrupt):
        recorder.flush_now()
        runs.set_status(db, args.run_id, "cancelled")
        return 0
    except BaseException as exc:  # any failure must end as 'failed' with the reason, never 'running'
        recorder.flush_now()
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        runs.set_status(db, args.run_id, "failed", error=detail)
        traceback.print_exc()
        return 1
    finally:
        recorder.close()
        commands.clear_commands(db, args.run_id)
        _start_next(db, home)  # the status is final by now: the machine is free for the next run


def _train(home, db, run: dict, run_dir: Path, recorder) -> object:
    from studio.config import RunConfig
    from studio.core import checkpoints
    from studio.core.train import run_training
    from studio.store import adapters, metrics

    cfg = RunConfig.from_dict(run["config"], source=f"run {run['id']} config")
    latest = checkpoints.latest_checkpoint(run_dir)
    if latest is not None:
        # Metrics logged after the checkpoint will be logged again; never keep a step twice.
        metrics.delete_after_step(db, run["id"], latest[0])
    import torch

    recorder.device = "cuda" if torch.cuda.is_available() and cfg.training.device != "cpu" else "cpu"

    def adapter_dir() -> Path:
        name = adapters.unique_adapter_name(db, cfg.name)
        while home.adapter_dir(name).exists():  # a folder without a row: never overwrite it
            name = adapters.unique_adapter_name(db, name + "-")
        home.adapters_dir.mkdir(parents=True, exist_ok=True)
        return home.adapter_dir(name)

    return run_training(cfg, run_dir, home.models_dir, reporter=recorder, resume=latest is not None,
                        adapter_dir=adapter_dir)


def _finish(db, run: dict, outcome) -> None:
    from studio.store import adapters, runs

    runs.update_run(db, run["id"], step=outcome.step, max_steps=outcome.max_steps, stage=None)
    if outcome.status == "completed" and outcome.adapter_dir is not None:
        size = sum(f.stat().st_size for f in Path(outcome.adapter_dir).rglob("*") if f.is_file())
        adapters.register_adapter(
            db, name=Path(outcome.adapter_dir).name, path=str(outcome.adapter_dir), run_id=run["id"],
            method=run["method"], base_model=run["model"], task=run["task"],
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


def _install_sigterm(recorder) -> None:
    """SIGTERM: inside the loop, stop at the next step boundary; before it, cancel at once."""
    def handler(signum, frame):
        if recorder.in_loop:
            recorder.request("stop")
        else:
            raise Cancelled()

    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
