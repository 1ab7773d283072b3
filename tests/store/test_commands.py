"""Commands: send, poll, handle, clear, and the kind CHECK constraint."""
from __future__ import annotations

import sqlite3

import pytest

from studio.store.commands import clear_commands, mark_handled, pending_command, send_command
from studio.store.runs import RunNotFound


def test_send_and_handle(db, run_id):
    assert pending_command(db, run_id) is None
    pause = send_command(db, run_id, "pause")
    stop = send_command(db, run_id, "stop")
    cmd = pending_command(db, run_id)
    assert (cmd["id"], cmd["kind"], cmd["handled_at"]) == (pause, "pause", None)
    mark_handled(db, pause)
    assert pending_command(db, run_id)["id"] == stop
    mark_handled(db, stop)
    assert pending_command(db, run_id) is None
    with pytest.raises(LookupError):
        mark_handled(db, 999)


def test_validation(db, run_id):
    with pytest.raises(ValueError, match="unknown command 'explode'"):
        send_command(db, run_id, "explode")
    with pytest.raises(RunNotFound):
        send_command(db, 999, "stop")


def test_kind_check_constraint(db, run_id):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("INSERT INTO commands (run_id, kind) VALUES (?, 'resume')", [run_id])


def test_clear(db, run_id):
    send_command(db, run_id, "pause")
    send_command(db, run_id, "stop")
    assert clear_commands(db, run_id) == 2
    assert pending_command(db, run_id) is None
    assert clear_commands(db, run_id) == 0
