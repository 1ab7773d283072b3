"""The worker as supervisor of a group of ranks started through torchrun.

The worker keeps the run's pid and heartbeat while torchrun trains; rank 0 alone records the run.
The watch ends the whole group when a rank dies (torchrun's agent does this; whatever outlives it
is killed here), when no rank advances for training.distributed.stall_timeout_s (a rank hung in a
collective: torchrun cannot see that), and makes sure the run never ends as 'running'. SIGTERM
(`studio stop` after its grace) becomes a stop command, which rank 0 honours at a step boundary.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from studio.paths import Home
from studio.store import commands, runs
from studio.worker import launch, rank_faults

POLL_S = 0.5
# Loading a model, evaluating or saving a checkpoint may take far longer than a step.
SETUP_GRACE_S = 900.0
# A rank that died is torchrun's to report (its agent stops the others, SIGKILL after 30 s).
DEATH_GRACE_S = 60.0
DEFAULT_STALL_TIMEOUT_S = 600.0


class _Watch:
    """Finds a group that stopped advancing, from the ranks' progress files."""

    def __init__(self, processes: int, stall_timeout_s: float, started: float) -> None:
        self.processes, self.timeout, self.started = processes, stall_timeout_s, started

    def verdict(self, progress: dict[int, dict], now: float) -> str | None:
        """None while the group is fine, else why it must be ended."""
        if len(progress) < self.processes:
            waited = now - self.started
            if waited <= max(self.timeout, SETUP_GRACE_S):
                return None
            return rank_faults.never_started_message(
                [r for r in range(self.processes) if r not in progress], waited)
        newest = max(float(p.get("time") or 0.0) for p in progress.values())
        training = all(p.get("stage") == "training" for p in progress.values())
        allowed = self.timeout if training else max(self.timeout, SETUP_GRACE_S)
        if now - newest > allowed and any(rank_faults.process_state(p.get("pid")) == "gone"
                                           for p in progress.values()):
            allowed = max(allowed, DEATH_GRACE_S)
        if now - newest <= allowed:
            return None
        rank = rank_faults.stuck_rank(progress)
        return rank_faults.stall_message(rank, progress[rank].get("step"), now - newest, self.timeout)


class _StopOnSigterm:
    """SIGTERM to the supervisor asks the ranks to stop at a step boundary (a command), never kills them."""

    def __init__(self) -> None:
        self.asked = False
        self.sent = False
        self._old = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.asked = True  # written to the store by the watch loop, not inside a signal handler

    def deliver(self, db: Any, run_id: int) -> None:
        if self.asked and not self.sent:
            if commands.pending_command(db, run_id) is None:
                commands.send_command(db, run_id, "stop")
            self.sent = True
            print("supervisor: SIGTERM → stop command for rank 0", file=sys.stderr, flush=True)

    def restore(self) -> None:
        signal.signal(signal.SIGTERM, self._old)


def end_group(proc: Any, spare: set[int]) -> list[int]:
    """SIGKILL torchrun and every descendant of this process not in spare; returns the pids killed."""
    import psutil

    me = psutil.Process()
    victims = [p for p in me.children(recursive=True) if p.pid not in spare]
    for p in victims:
        try:
            p.kill()  # SIGKILL also ends a SIGSTOPped rank
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=10)
    if proc.poll() is None:
        proc.wait(timeout=10)
    for p in victims:  # orphans re-parented to us (we are their subreaper): reap them
        try:
            os.waitpid(p.pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass
    return [p.pid for p in victims]


def run_group(db: Any, home: Home, run_id: int, command: list[str], run_dir: Path, processes: int,
              stall_timeout_s: float | None = None, env: dict[str, str] | None = None) -> str:
    """Start torchrun for a claimed run, watch it to the end, and return the run's final status."""
    import psutil

    run_dir = Path(run_dir)
    rank_faults.clear_progress(run_dir)
    launch.adopt_orphans()  # ranks whose torchrun died come to us, so none is left training
    spare = {p.pid for p in psutil.Process().children(recursive=True)}
    timeout = float(stall_timeout_s or DEFAULT_STALL_TIMEOUT_S)
    log_path = run_dir / "worker.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    print(f"supervisor: {processes} processes: {' '.join(command)}", file=sys.stderr, flush=True)
    stop = _StopOnSigterm()
    verdict, proc = None, None
    try:
        with open(log_path, "ab") as log:
            proc = launch.start_torchrun(command, run_dir, env or launch.torchrun_env(processes), log)
        watch = _Watch(processes, timeout, time.time())
        while proc.poll() is None:
            time.sleep(POLL_S)
            _beat(db, run_id, stop)
            verdict = watch.verdict(rank_faults.read_progress(run_dir), time.time())
            if verdict:
                print(f"supervisor: {verdict}", file=sys.stderr, flush=True)
                break
    finally:
        stop.restore()
        # Whatever happened here (an error too), no rank may train on unsupervised.
        killed = end_group(proc, spare) if proc is not None else []
    if killed and not verdict:
        print(f"supervisor: ended {len(killed)} leftover process(es) of the group", file=sys.stderr, flush=True)
    return _finish(db, run_id, proc.returncode, verdict, _read_from(log_path, offset), run_dir)


def _beat(db: Any, run_id: int, stop: _StopOnSigterm) -> None:
    """The heartbeat, and a SIGTERM's stop command; a busy database only delays them to the next round."""
    import sqlite3

    try:
        runs.heartbeat(db, run_id)
        stop.deliver(db, run_id)
    except sqlite3.OperationalError as exc:
        print(f"supervisor: store busy ({exc}); trying again", file=sys.stderr, flush=True)


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(max(offset, path.stat().st_size - 256 * 1024))
        return fh.read().decode("utf-8", "replace")


def _finish(db: Any, run_id: int, code: int | None, verdict: str | None, output: str, run_dir: Path) -> str:
    """Settle the final status: what rank 0 recorded when the group ended cleanly, else what went wrong."""
    run = runs.get_run(db, run_id)
    status, error = run["status"], run.get("error") or ""
    if status == "queued" or run.get("pid") not in (None, os.getpid()):
        # Rank 0 recorded the end, and the run was resumed under another worker before this one
        # finished: the run is that worker's now.
        return status
    if verdict:
        if status != "completed":
            runs.set_status(db, run_id, "crashed", error=verdict)
    elif code == 0:
        if status == "running":
            runs.set_status(db, run_id, "failed", error="the ranks exited without recording how the run "
                            "ended (torchrun exited 0); see worker.log")
    else:
        cause = rank_faults.root_cause(output)
        if cause is None:
            message = f"torchrun exited with code {code} and named no rank; see worker.log; {rank_faults.RESUME_HINT}"
            runs.set_status(db, run_id, "crashed", error=message)
        elif cause[0] == 0 and status == "failed":  # rank 0 recorded its own error: keep it
            if error.startswith("Out of memory") and rank_faults.OOM_NOTE not in error:
                runs.update_run(db, run_id, error=f"{error} ({rank_faults.OOM_NOTE})")
        elif status != "completed":
            rank, exit_code = cause
            step = rank_faults.read_progress(run_dir).get(rank, {}).get("step")
            text = rank_faults.rank_stderr(launch.rank_log_dir(run_dir), rank)
            message = rank_faults.death_message(rank, exit_code, step, rank_faults.exception_line(text))
            runs.set_status(db, run_id, "crashed" if exit_code < 0 else "failed", error=message)
    final = runs.get_run(db, run_id)
    print(f"supervisor: the run is {final['status']}" + (f": {final['error']}" if final.get("error") else ""),
          file=sys.stderr, flush=True)
    return final["status"]


def supervise_if_distributed(db: Any, home: Home, run: dict, run_dir: Path) -> str | None:
    """For a run configured with several processes, train it through torchrun and return its final
    status; None for a one-process run (the worker trains it in-process, as always)."""
    from studio.config import RunConfig

    spec = RunConfig.from_dict(run["config"], source=f"run {run['id']} config").training.distributed
    if not spec.wanted:
        return None
    processes = launch.resolve_processes(spec.processes)
    if processes == 1:
        print("supervisor: processes auto found no GPU: one process, in this worker", file=sys.stderr, flush=True)
        return None
    command = launch.torchrun_command(home, run["id"], processes, run_dir)
    return run_group(db, home, run["id"], command, run_dir, processes, spec.stall_timeout_s)


def _nproc(command: list[str]) -> int:
    for flag in ("--nproc-per-node", "--nproc_per_node"):
        if flag in command:
            return int(command[command.index(flag) + 1])
    return 1


def supervise_command(home: Home, run_id: int, command: list[str], processes: int | None = None,
                      stall_timeout_s: float | None = None) -> int:
    """Claim a queued run as its supervisor, run `command` (a torchrun line) to the end; 0 unless it failed.

    For a launch the worker does not make itself (node 0 of a multi-node run); processes (this
    machine's ranks) defaults to the command's --nproc-per-node."""
    import psutil

    from studio.store.db import open_db

    db = open_db(home.db_path)
    if not runs.claim_running(db, run_id, os.getpid(), psutil.Process().create_time()):
        print(f"run {run_id} is {runs.get_run(db, run_id)['status']}, not queued: nothing to do", file=sys.stderr)
        return 0
    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        status = run_group(db, home, run_id, command, run_dir, processes or _nproc(command), stall_timeout_s)
    finally:
        commands.clear_commands(db, run_id)
    return 0 if status in ("completed", "paused", "cancelled") else 1
