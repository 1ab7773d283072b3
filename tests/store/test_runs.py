"""Runs: creation, lookup, status transitions, heartbeat, warnings."""
from __future__ import annotations

import sqlite3

import pytest

from studio.store.runs import (
    ACTIVE_STATUSES, RUN_STATUSES, RunNotFound, add_warnings, claim_running, create_run,
    delete_run, find_run, get_run, heartbeat, list_runs, set_status, update_run,
)


def _make(db, name="demo"):
    return create_run(db, name=name, config={"a": [1, 2]}, model="m", method="lora",
                      task="causal-lm", max_steps=10, run_dir="/runs/x")


def test_create_and_get(db):
    run_id = _make(db)
    run = get_run(db, run_id)
    assert run["status"] == "queued"
    assert run["config"] == {"a": [1, 2]}
    assert run["warnings"] == []
    assert run["step"] == 0 and run["max_steps"] == 10
    assert run["run_dir"] == "/runs/x"
    assert run["created_at"] > 0 and run["started_at"] is None
    assert ACTIVE_STATUSES == ("queued", "running")


def test_get_missing(db):
    with pytest.raises(RunNotFound, match="no run 99"):
        get_run(db, 99)
    assert issubclass(RunNotFound, LookupError)


def test_find_run(db):
    first = _make(db, "alpha")
    second = _make(db, "alpha")
    numeric = _make(db, "7777")
    assert find_run(db, first)["id"] == first
    assert find_run(db, str(first))["id"] == first
    assert find_run(db, "alpha")["id"] == second  # newest with that name
    assert find_run(db, "7777")["id"] == numeric  # digits that are no id fall back to name
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        find_run(db, "nope")
    with pytest.raises(RunNotFound):
        find_run(db, 12345)


def test_list_runs_newest_first(db):
    ids = [_make(db, f"r{i}") for i in range(3)]
    assert [r["id"] for r in list_runs(db)] == ids[::-1]
    assert list_runs(db)[0]["config"] == {"a": [1, 2]}


def test_update_run(db, run_id):
    update_run(db, run_id, step=5, config={"b": 2}, warnings=["w"], error="e")
    run = get_run(db, run_id)
    assert (run["step"], run["config"], run["warnings"], run["error"]) == (5, {"b": 2}, ["w"], "e")
    with pytest.raises(ValueError, match="bogus"):
        update_run(db, run_id, bogus=1)
    with pytest.raises(ValueError, match="status"):
        update_run(db, run_id, status="weird")
    with pytest.raises(RunNotFound):
        update_run(db, 999, step=1)
    with pytest.raises(RunNotFound):
        update_run(db, 999)


def test_set_status_stamps(db, run_id):
    set_status(db, run_id, "running")
    started = get_run(db, run_id)["started_at"]
    assert started is not None and get_run(db, run_id)["finished_at"] is None
    set_status(db, run_id, "paused")
    run = get_run(db, run_id)
    assert run["status"] == "paused" and run["finished_at"] >= started
    set_status(db, run_id, "running")  # resume: first start kept, no longer finished
    run = get_run(db, run_id)
    assert run["started_at"] == started and run["finished_at"] is None
    set_status(db, run_id, "failed", error="CUDA out of memory")
    run = get_run(db, run_id)
    assert run["error"] == "CUDA out of memory" and run["finished_at"] is not None


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "crashed", "paused"])
def test_set_status_finished(db, run_id, status):
    set_status(db, run_id, status)
    assert get_run(db, run_id)["finished_at"] is not None


def test_set_status_validates(db, run_id):
    with pytest.raises(ValueError, match="unknown run status"):
        set_status(db, run_id, "exploded")
    with pytest.raises(RunNotFound):
        set_status(db, 999, "running")


def test_status_check_constraint(db, run_id):
    for status in RUN_STATUSES:  # constants and CHECK agree
        db.execute("UPDATE runs SET status = ? WHERE id = ?", [status, run_id])
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE runs SET status = 'exploded' WHERE id = ?", [run_id])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO runs (name, status) VALUES ('x', NULL)")


def test_claim_running(db, run_id):
    assert claim_running(db, run_id, pid=1234, pid_started_at=111.5) is True
    run = get_run(db, run_id)
    assert (run["status"], run["pid"], run["pid_started_at"]) == ("running", 1234, 111.5)
    assert run["heartbeat_at"] is not None and run["started_at"] is not None
    # A second worker cannot claim a running run, nor anyone a cancelled one.
    assert claim_running(db, run_id, pid=5678, pid_started_at=1.0) is False
    assert get_run(db, run_id)["pid"] == 1234
    set_status(db, run_id, "cancelled")
    assert claim_running(db, run_id, pid=5678, pid_started_at=1.0) is False
    # Re-queued (resume) runs can be claimed again.
    set_status(db, run_id, "queued")
    assert claim_running(db, run_id, pid=5678, pid_started_at=2.0) is True
    with pytest.raises(RunNotFound):
        claim_running(db, 999, pid=1, pid_started_at=1.0)


def test_heartbeat(db, run_id):
    heartbeat(db, run_id)
    first = get_run(db, run_id)["heartbeat_at"]
    assert first is not None and get_run(db, run_id)["step"] == 0
    heartbeat(db, run_id, step=42)
    run = get_run(db, run_id)
    assert run["step"] == 42 and run["heartbeat_at"] >= first
    with pytest.raises(RunNotFound):
        heartbeat(db, 999)


def test_add_warnings(db, run_id):
    add_warnings(db, run_id, ["low vram", "fp16 fallback"])
    add_warnings(db, run_id, ["low vram", "new one"])
    add_warnings(db, run_id, [])
    assert get_run(db, run_id)["warnings"] == ["low vram", "fp16 fallback", "new one"]
    with pytest.raises(RunNotFound):
        add_warnings(db, 999, ["x"])


def test_delete_run(db, run_id):
    delete_run(db, run_id)
    assert list_runs(db) == []
    with pytest.raises(RunNotFound):
        delete_run(db, run_id)
