"""Worker processes: launch detached, observe liveness, stop and pause. No torch, no Qt."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from studio.paths import Home
from studio.store import commands, runs

# A worker writes a heartbeat every second; this much silence means it is gone or hung.
STALE_AFTER_S = 30.0
TERMINAL = ("completed", "failed", "cancelled", "crashed", "paused")


def worker_command(home: Home, run_id: int) -> list[str]:
    """The command line that trains one run (a frozen build runs its own executable instead)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "worker", str(run_id), "--home", str(home.root)]
    return [sys.executable, "-m", "studio.worker", str(run_id), "--home", str(home.root)]


def launch(db: Any, home: Home, run_id: int) -> int:
    """Start the worker in its own session (closing the GUI or terminal does not stop it)."""
    import psutil

    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "worker.log", "ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen(worker_command(home, run_id), stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, cwd=run_dir, env=env, start_new_session=True)
    log.close()
    try:
        started = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    runs.update_run(db, run_id, pid=proc.pid, pid_started_at=started, heartbeat_at=time.time())
    return proc.pid


def is_alive(pid: int | None, started_at: float | None = None) -> bool:
    """True while the process runs; a zombie or a reused pid counts as gone."""
    if not pid:
        return False
    import psutil

    try:
        os.waitpid(pid, os.WNOHANG)  # reap our own finished child, if it is one
    except (ChildProcessError, OSError):
        pass
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_at is None or abs(proc.create_time() - started_at) < 1.0
    except psutil.NoSuchProcess:
        return False


def check_liveness(db: Any, run: dict, now: float | None = None) -> dict:
    """Mark a queued/running run 'crashed' when its process is gone or its heartbeat is stale."""
    if run["status"] not in ("queued", "running"):
        return run
    if run["status"] == "queued" and not run.get("pid"):
        return run  # waiting for a launch
    now = now or time.time()
    alive = is_alive(run.get("pid"), run.get("pid_started_at"))
    stale = run.get("heartbeat_at") is not None and now - run["heartbeat_at"] > STALE_AFTER_S
    if alive and not stale:
        return run
    reason = "worker process is gone" if not alive else f"no heartbeat for {now - run['heartbeat_at']:.0f} s"
    runs.set_status(db, run["id"], "crashed", error=f"{reason}; resume continues from the last complete checkpoint")
    return runs.get_run(db, run["id"])


def refresh(db: Any) -> list[dict]:
    """All runs, newest first, with liveness checked."""
    return [check_liveness(db, r) for r in runs.list_runs(db)]


def request(db: Any, run_id: int, kind: str, timeout: float = 60.0, kill_after: float = 15.0) -> dict:
    """Ask a run to stop or pause between steps and wait until its worker has exited.

    The command is honoured at the next step boundary; SIGTERM, then SIGKILL back it up when the
    worker does not answer in time (stuck in a long step or load)."""
    run = check_liveness(db, runs.get_run(db, run_id))
    if run["status"] not in ("queued", "running"):
        raise ValueError(f"run {run_id} is {run['status']}; only queued or running runs can {kind}")
    commands.send_command(db, run_id, kind)
    if not _wait_exit(run, timeout):
        _signal(run, signal.SIGTERM)
        if not _wait_exit(run, kill_after):
            _signal(run, signal.SIGKILL)
            _wait_exit(run, 5.0)
            runs.set_status(db, run_id, "cancelled", error="killed after not answering a stop request")
    return check_liveness(db, runs.get_run(db, run_id))


def _wait_exit(run: dict, timeout: float) -> bool:
    """Wait for the worker process to end; True if it did."""
    end = time.time() + timeout
    while time.time() < end:
        if not is_alive(run.get("pid"), run.get("pid_started_at")):
            return True
        time.sleep(0.1)
    return False


def _signal(run: dict, sig: int) -> None:
    if is_alive(run.get("pid"), run.get("pid_started_at")):
        try:
            os.killpg(run["pid"], sig)  # the worker leads its own session: reach its children too
        except ProcessLookupError:
            pass


def resumable(run: dict) -> bool:
    """Paused, crashed, cancelled and failed runs can continue from their last checkpoint."""
    return run["status"] in ("paused", "crashed", "cancelled", "failed")


def resume(db: Any, home: Home, run_id: int) -> int:
    """Queue a stopped run again and launch its worker, which resumes from its last checkpoint."""
    run = check_liveness(db, runs.get_run(db, run_id))
    if not resumable(run):
        raise ValueError(f"run {run_id} is {run['status']}; only paused, crashed, cancelled or failed runs resume")
    commands.clear_commands(db, run_id)
    runs.update_run(db, run_id, status="queued", error=None, pid=None, finished_at=None)
    return launch(db, home, run_id)


def log_tail(home: Home, run_id: int, lines: int = 20) -> str:
    """The last lines of a run's worker log."""
    path = Path(home.run_dir(run_id)) / "worker.log"
    if not path.is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64 * 1024))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])
