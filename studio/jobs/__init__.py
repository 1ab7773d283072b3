"""Worker processes: the run queue, detached launches, liveness, stop and pause. No torch, no Qt.

One run trains at a time per data home: a GPU trains one run at a time, and on a CPU two runs would
only slow each other down. A submitted run waits as 'queued' (launched_at NULL) until start_next()
claims it, which happens when a run is submitted or resumed, when a worker exits, and in refresh()
(polled by the GUI and `studio runs`), which also notices workers that died without a word.

This is the package face: callers write `from studio import jobs; jobs.launch(...)`. The work lives
in process.py (launch, pids, signals), liveness.py, queue.py, control.py (stop/pause/resume) and
files.py (where the store and the logs are).
"""
from __future__ import annotations

from studio.jobs.control import request, resumable, resume
from studio.jobs.files import db_file, home_of, log_tail
from studio.jobs.liveness import STALE_AFTER_S, TERMINAL, check_liveness
from studio.jobs.process import is_alive, launch, worker_command
from studio.jobs.queue import advance, queue_position, refresh, start_next, status_text

__all__ = [
    "STALE_AFTER_S", "TERMINAL", "advance", "check_liveness", "db_file", "home_of", "is_alive", "launch",
    "log_tail", "queue_position", "refresh", "request", "resumable", "resume", "start_next",
    "status_text", "worker_command",
]
