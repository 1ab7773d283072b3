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

from studio.worker.attempt import _Live, _attempt, _finish, _record_retry


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
        from studio.worker.supervise import supervise_if_distributed

        group_status = supervise_if_distributed(db, home, run, run_dir)  # several processes: torchrun
        if group_status is not None:
            return 0 if group_status in ("completed", "paused", "cancelled") else 1
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
