"""Worker processes: the run queue, detached launches, liveness, stop and pause. No torch, no Qt.

One run trains at a time per data home: a GPU trains one run at a time, and on a CPU two runs would
only slow each other down. A submitted run waits as 'queued' (launched_at NULL) until start_next()
claims it, which happens when a run is submitted or resumed, when a worker exits, and in refresh()
(polled by the GUI and `studio runs`), which also notices workers that died without a word.
"""
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


def db_file(db: Any) -> str | None:
    """The file behind a store connection (None in memory): other threads open their own to it."""
    for _seq, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return path
    return None


def home_of(db: Any) -> Home | None:
    """The data home whose studio.db this connection has open (None for any other store)."""
    path = db_file(db)
    if path is None:
        return None
    home = Home(Path(path).parent)
    return home if home.db_path == Path(path) else None


def start_next(db: Any, home: Home) -> int | None:
    """Start the oldest waiting run unless one is running or starting; returns the id started."""
    run_id = runs.claim_next(db)  # atomic: of two processes calling at once, one claims
    if run_id is None:
        return None
    try:
        launch(db, home, run_id)
    except Exception as e:  # a claimed run must not stay 'starting' and block the queue
        runs.set_status(db, run_id, "failed", error=f"its worker could not be started: {e}")
        return None
    return run_id


def advance(db: Any, home: Home | None = None) -> int | None:
    """Check the runs holding the machine; when none is left, start the next waiting run."""
    busy = [r for r in runs.occupying_runs(db) if check_liveness(db, r, advance=False)["status"]
            in runs.ACTIVE_STATUSES]
    home = home or home_of(db)
    return None if busy or home is None else start_next(db, home)


def check_liveness(db: Any, run: dict, now: float | None = None, advance: bool = True) -> dict:
    """Mark a running (or starting) run 'crashed' when its process is gone or its heartbeat is stale.

    With advance, a crash found here, or a run still waiting, moves the queue on (whoever looks
    at a run - `studio show`, a follow loop - is enough for the next one to start)."""
    if run["status"] not in runs.ACTIVE_STATUSES:
        return run
    if runs.is_waiting(run):
        if advance and _advance_quietly(db):
            return runs.get_run(db, run["id"])
        return run
    now = now or time.time()
    if run["status"] == "queued" and not run.get("pid"):
        # Claimed by start_next, worker not spawned yet; its launcher may have died in between.
        if now - (run.get("launched_at") or now) <= STALE_AFTER_S:
            return run
        reason = "its worker was never started"
    else:
        alive = is_alive(run.get("pid"), run.get("pid_started_at"))
        stale = run.get("heartbeat_at") is not None and now - run["heartbeat_at"] > STALE_AFTER_S
        if alive and not stale:
            return run
        reason = "worker process is gone" if not alive else f"no heartbeat for {now - run['heartbeat_at']:.0f} s"
    runs.set_status(db, run["id"], "crashed", error=f"{reason}; resume continues from the last complete checkpoint")
    if advance:
        _advance_quietly(db)
    return runs.get_run(db, run["id"])


def _advance_quietly(db: Any) -> int | None:
    """advance() for callers that only meant to look: a launch failure is recorded, not raised."""
    try:
        return advance(db)
    except Exception:
        return None


def refresh(db: Any, home: Home | None = None) -> list[dict]:
    """All runs, newest first, liveness checked, the queue moved on; queue_position set on waiting runs."""
    rows = [check_liveness(db, r, advance=False) for r in runs.list_runs(db)]
    waiting = any(runs.is_waiting(r) for r in rows)
    occupied = any(r["status"] in runs.ACTIVE_STATUSES and not runs.is_waiting(r) for r in rows)
    home = home or home_of(db)
    if waiting and not occupied and home is not None and start_next(db, home) is not None:
        rows = runs.list_runs(db)
    positions = runs.queue_positions(db) if waiting else {}
    for r in rows:
        r["queue_position"] = positions.get(r["id"])
    return rows


def queue_position(db: Any, run_id: int) -> int | None:
    """A waiting run's place in the queue (1 = next); None when it is not waiting."""
    return runs.queue_positions(db).get(run_id)


def status_text(run: dict) -> str:
    """The status as people read it: 'queued #2' while waiting its turn, 'starting' once launched."""
    if run["status"] != "queued":
        return run["status"]
    if not runs.is_waiting(run):
        return "starting"
    return f"queued #{run['queue_position']}" if run.get("queue_position") else "queued"


def request(db: Any, run_id: int, kind: str, timeout: float = 60.0, kill_after: float = 15.0) -> dict:
    """Ask a run to stop or pause between steps and wait until its worker has exited.

    A run still waiting in the queue leaves it at once (stop: cancelled, pause: paused, so resume
    queues it again). Otherwise the command is honoured at the next step boundary; SIGTERM, then
    SIGKILL back it up when the worker does not answer in time (stuck in a long step or load)."""
    run = check_liveness(db, runs.get_run(db, run_id), advance=False)
    if run["status"] not in runs.ACTIVE_STATUSES:
        raise ValueError(f"run {run_id} is {run['status']}; only queued or running runs can {kind}")
    if runs.is_waiting(run) and runs.cancel_waiting(db, run_id, "cancelled" if kind == "stop" else "paused"):
        return runs.get_run(db, run_id)
    commands.send_command(db, run_id, kind)
    run = _wait_spawned(db, run_id)
    if not _wait_exit(run, timeout):
        _signal(run, signal.SIGTERM)
        if not _wait_exit(run, kill_after):
            _signal(run, signal.SIGKILL)
            _wait_exit(run, 5.0)
            runs.set_status(db, run_id, "cancelled", error="killed after not answering a stop request")
            _advance_quietly(db)  # a killed worker cannot start the next run itself
    return check_liveness(db, runs.get_run(db, run_id))


def _wait_spawned(db: Any, run_id: int, timeout: float = 10.0) -> dict:
    """A run claimed from the queue gets its pid a moment later; wait for it (briefly)."""
    end = time.time() + timeout
    run = runs.get_run(db, run_id)
    while run["status"] == "queued" and not run.get("pid") and time.time() < end:
        time.sleep(0.05)
        run = runs.get_run(db, run_id)
    return run


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


def resume(db: Any, home: Home, run_id: int) -> int | None:
    """Queue a stopped run again, at the back; it starts now when nothing else is running.

    Returns its worker's pid when it started at once, None while it waits for its turn. The
    worker continues from the run's last complete checkpoint."""
    run = check_liveness(db, runs.get_run(db, run_id), advance=False)
    if not resumable(run):
        raise ValueError(f"run {run_id} is {run['status']}; only paused, crashed, cancelled or failed runs resume")
    commands.clear_commands(db, run_id)
    runs.update_run(db, run_id, pid=None, pid_started_at=None)
    runs.set_status(db, run_id, "queued")  # waiting again: queued_at now, launched_at cleared
    advance(db, home)
    run = runs.get_run(db, run_id)
    return None if runs.is_waiting(run) else run.get("pid")


def log_tail(home: Home, run_id: int, lines: int = 20) -> str:
    """The last lines of a run's worker log."""
    path = Path(home.run_dir(run_id)) / "worker.log"
    if not path.is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64 * 1024))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])
