"""`python -m studio.worker.rank RUN_ID --home DIR [--run-dir D]`: one rank of a run torchrun started.

The worker (studio/worker/supervise.py) claims the run and starts torchrun; every rank trains the
same recipe (core/train.py run_training), made rank-aware by core/distributed.py. Rank 0 alone has
the real Recorder (metrics, heartbeat, stage, checkpoints, the adapter, the final status) and writes
the run folder; the others record nothing but their progress file, RUN_DIR/ranks/rank-R.json, which
the supervisor reads to find a rank that died or a group that hangs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from studio.worker import rank_faults
from studio.worker.attempt import _Live, _attempt, _finish


class Cancelled(Exception):
    """SIGTERM before the training loop: there is no step boundary to wait for."""


def main(argv: list[str] | None = None) -> int:
    """Train this process's rank of the run; 0 when it ended as the user asked."""
    from studio.worker.launch import die_with_parent

    die_with_parent(signal.SIGKILL)  # torchrun killed: never train on as an orphan
    parser = argparse.ArgumentParser(prog="studio-worker-rank")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--home", required=True)
    parser.add_argument("--run-dir", help="the run's folder (default: the home's runs/<id>)")
    args = parser.parse_args(argv)

    from studio.core.distributed import world
    from studio.core.distributed_callbacks import write_progress
    from studio.paths import Home
    from studio.store import runs
    from studio.store.db import open_db

    w, home = world(), Home(Path(args.home))
    db = open_db(home.db_path)
    run = runs.get_run(db, args.run_id)
    run_dir = Path(args.run_dir) if args.run_dir else home.run_dir(args.run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_progress(run_dir, w.rank, run.get("step") or 0, "starting")
    if w.main:
        return _rank_zero(home, db, run, run_dir, w)
    return _other_rank(home, run, run_dir, w)


def _rank_zero(home, db, run: dict, run_dir: Path, w) -> int:
    import psutil

    from studio.store import commands, runs
    from studio.worker.recorder import Recorder

    if run["status"] == "queued":  # started without a supervisor (by hand, a test): claim it here
        runs.claim_running(db, run["id"], os.getpid(), psutil.Process().create_time())
    live = _Live(_WithProgress(Recorder(home.db_path, run["id"]).start(), run_dir, w.rank))  # the heartbeat now
    _install_sigterm(live.recorder)
    try:
        if commands.pending_command(db, run["id"]):
            raise Cancelled()
        outcome = _train(lambda cfg, watch: _attempt(home, db, run, run_dir, cfg, live, watch), run)
        live.recorder.flush_now()
        _finish(db, run, outcome)
        _progress(run_dir, w.rank, outcome.step, "finished")
        return 0
    except (Cancelled, KeyboardInterrupt):
        live.recorder.flush_now()
        runs.set_status(db, run["id"], "cancelled")
        return 0
    except BaseException as exc:  # any failure ends as 'failed' with the reason, never 'running'
        live.recorder.flush_now()
        if rank_faults.peer_failure(exc) and runs.get_run(db, run["id"]).get("pid") != os.getpid():
            # A collective broke because another rank died: the supervisor names that rank and
            # settles the status (recording 'failed' here showed the wrong cause until it did).
            print(f"rank 0: the group broke ({_detail(exc, run)}); the supervisor records why", file=sys.stderr)
        else:
            runs.set_status(db, run["id"], "failed", error=_detail(exc, run))
        traceback.print_exc()
        return 1
    finally:
        live.recorder.close()
        commands.clear_commands(db, run["id"])
        _leave_group()


def _other_rank(home, run: dict, run_dir: Path, w) -> int:
    from studio.core import checkpoints
    from studio.core.train import run_training
    from studio.worker.resume import quiet_load_report

    reporter = _QuietRank(run_dir, w.rank)
    _install_sigterm(reporter)
    try:
        latest = checkpoints.latest_checkpoint(run_dir)

        def attempt(cfg, watch) -> Any:
            with quiet_load_report(latest is not None):
                return run_training(cfg, run_dir, home.models_dir, reporter=reporter,
                                    resume=latest is not None, adapter_dir=None)  # the adapter is rank 0's

        outcome = _train(attempt, run)
        _progress(run_dir, w.rank, outcome.step, "finished")
        return 0
    except (Cancelled, KeyboardInterrupt):
        return 0
    except BaseException as exc:  # the supervisor reads the exception line from this rank's log
        print(f"rank {w.rank}: {_detail(exc, run)}", file=sys.stderr, flush=True)
        traceback.print_exc()
        return 1
    finally:
        _leave_group()


def _train(attempt, run: dict) -> Any:
    """One attempt, no out-of-memory retry: one rank shrinking its micro-batch would desync the group."""
    from studio.config import RunConfig
    from studio.worker import oom

    cfg = RunConfig.from_dict(run["config"], source=f"run {run['id']} config")
    return attempt(cfg, oom.StepWatch().callback())


def _detail(exc: BaseException, run: dict) -> str:
    """The run's error: out of memory with its advice, else the exception's line."""
    from studio.config import RunConfig
    from studio.worker import oom

    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if oom.is_out_of_memory(exc):
        return oom.failure_message(RunConfig.from_dict(run["config"]), None, 0, text)
    return text


def _progress(run_dir: Path, rank: int, step: int, stage: str) -> None:
    from studio.core.distributed_callbacks import write_progress

    write_progress(run_dir, rank, step, stage)


def _leave_group() -> None:
    """Destroy the process group cleanly (torch warns at exit otherwise)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:
        traceback.print_exc()


def _install_sigterm(reporter: Any) -> None:
    """SIGTERM inside the loop: stop at the next step boundary (rank 0 decides for every rank, see
    core/distributed_callbacks.StopSync); before it: cancel at once."""
    def handler(signum, frame):
        if not reporter.in_loop:
            raise Cancelled()
        if hasattr(reporter, "request"):
            reporter.request("stop")

    signal.signal(signal.SIGTERM, handler)


class _WithProgress:
    """Rank 0's recorder, whose stages (loading model, training ...) also go to its progress file."""

    def __init__(self, recorder: Any, run_dir: Path, rank: int) -> None:
        object.__setattr__(self, "_inner", recorder)
        object.__setattr__(self, "_where", (run_dir, rank))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:  # what core and the worker set is the recorder's
        setattr(self._inner, name, value)

    def stage(self, text: str) -> None:
        """Record the stage, and say it in the progress file."""
        self._inner.stage(text)
        _progress(*self._where, self._inner._step or 0, text)


class _QuietRank:
    """The reporter of a rank other than 0: records nothing, writes its stages to its progress file."""

    callbacks: list = []

    def __init__(self, run_dir: Path, rank: int) -> None:
        self.run_dir, self.rank = run_dir, rank
        self.stop_reason: str | None = None  # rank 0's decision, set by StopSync
        self.in_loop = False

    def stage(self, text: str) -> None:
        """Only the progress file hears it."""
        self.in_loop = text == "training"
        _progress(self.run_dir, self.rank, 0, text)

    def warn(self, messages: list[str]) -> None: ...
    def set_max_steps(self, steps: int, trainable: int, total: int) -> None: ...
    def checkpoint_saved(self, step: int, path: Path, removed: list[int]) -> None: ...


if __name__ == "__main__":
    sys.exit(main())
