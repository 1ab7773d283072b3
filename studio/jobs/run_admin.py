"""Managing runs as records: stop one that is paused, rename, delete with its files. No torch, no Qt.

Shared by the Runs page and `studio runs stop|rename|rm`, so both refuse the same things in the
same words.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from studio.jobs.liveness import check_liveness
from studio.paths import Home
from studio.store import runs

NAME = re.compile(r"[A-Za-z0-9][\w.-]*")  # as a run config's name (it names files)


def stoppable(run: dict) -> bool:
    """Running and queued runs stop at their next step; a paused run stops where it is."""
    return run["status"] in ("running", "queued", "paused")


def stop(db: Any, run_id: int) -> dict:
    """Stop a run: a paused one becomes 'cancelled' at once (its checkpoints stay, resume still works);
    a running or queued one is asked to stop (jobs.request)."""
    from studio import jobs  # the package face, where callers (and tests) see request

    run = runs.get_run(db, run_id)
    if run["status"] == "paused":
        runs.set_status(db, run_id, "cancelled")
        return runs.get_run(db, run_id)
    return jobs.request(db, run_id, "stop")


def deletable(run: dict) -> bool:
    """Anything but a run whose worker is (or is about to be) training; a waiting run just leaves the queue."""
    return run["status"] != "running" and not (run["status"] == "queued" and run.get("launched_at"))


def rename(db: Any, run_id: int, new: str) -> dict:
    """Give a run another name (its config says it too); refused when invalid or another run has it."""
    new = new.strip()
    if not NAME.fullmatch(new):
        raise ValueError(f"name: use letters, digits, '-', '_' or '.', got {new!r}")
    clash = db.execute("SELECT id FROM runs WHERE name = ? AND id != ?", [new, run_id]).fetchone()
    if clash:
        raise ValueError(f"name: run {clash[0]} is already called {new!r}")
    run = runs.get_run(db, run_id)
    config = dict(run["config"] or {})
    if config:
        config["name"] = new
    runs.update_run(db, run_id, name=new, **({"config": config} if config else {}))
    return runs.get_run(db, run_id)


def delete(db: Any, home: Home, run_id: int) -> list[Path]:
    """Delete a run's record (metrics, checkpoints list, commands) and its folder under the home's runs/.

    Refused while its worker trains. Adapters saved from it stay in the library. Returns the folders removed."""
    run = check_liveness(db, runs.get_run(db, run_id), advance=False)
    if not deletable(run):
        raise ValueError(f"run {run_id} is {run['status']}: stop it first, then delete it")
    folders = [home.run_dir(run_id)]
    if run.get("run_dir"):
        folders.append(Path(run["run_dir"]))
    runs_root = home.runs_dir.resolve()
    removed = []
    for folder in dict.fromkeys(f.resolve() for f in folders):
        # Only a folder inside <home>/runs/ is the run's own; never remove anything else a row points at.
        if folder.parent == runs_root and folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    runs.delete_run(db, run_id)
    return removed


def active_runs(db: Any) -> list[dict]:
    """Runs training or waiting their turn (a dead worker is not counted: it shows as crashed)."""
    rows = [check_liveness(db, r, advance=False) for r in runs.list_runs(db) if r["status"] in runs.ACTIVE_STATUSES]
    return [r for r in rows if r["status"] in runs.ACTIVE_STATUSES]


def ask_all_to_stop(db: Any) -> list[int]:
    """Without waiting: waiting runs leave the queue (cancelled), training ones get a stop command that
    their worker honours at its next step. Returns the run ids asked."""
    from studio.store import commands

    asked = []
    for run in active_runs(db):
        if not (runs.is_waiting(run) and runs.cancel_waiting(db, run["id"], "cancelled")):
            commands.send_command(db, run["id"], "stop")
        asked.append(run["id"])
    return asked
