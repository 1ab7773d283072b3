"""Worker processes themselves: the command line, the detached launch, liveness of a pid, signals."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from studio.jobs import child
from studio.paths import Home
from studio.store import runs


def worker_command(home: Home, run_id: int) -> list[str]:
    """The command line that trains one run (a frozen build runs its own executable instead)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "worker", str(run_id), "--home", str(home.root)]
    return [*child.python_prefix(), "-m", "studio.worker", str(run_id), "--home", str(home.root)]


def launch(db: Any, home: Home, run_id: int) -> int:
    """Start the worker in its own session (closing the GUI or terminal does not stop it)."""
    import psutil

    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "worker.log", "ab")
    env = dict(child.child_env(), PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
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


def wait_exit(run: dict, timeout: float) -> bool:
    """Wait for a run's worker process to end; True if it did."""
    end = time.time() + timeout
    while time.time() < end:
        if not is_alive(run.get("pid"), run.get("pid_started_at")):
            return True
        time.sleep(0.1)
    return False


def signal_worker(run: dict, sig: int) -> None:
    """Send sig to a live worker and the processes it started."""
    if is_alive(run.get("pid"), run.get("pid_started_at")):
        import psutil

        try:
            # torchrun and its ranks run in sessions of their own (a multi-process run): a kill
            # must reach them too, found before the worker dies and they are re-parented.
            family = psutil.Process(run["pid"]).children(recursive=True) if sig == signal.SIGKILL else []
        except psutil.Error:
            family = []
        try:
            os.killpg(run["pid"], sig)  # the worker leads its own session: reach its children too
        except ProcessLookupError:
            pass
        for proc in family:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass
