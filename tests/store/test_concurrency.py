"""Worker process writes while this process reads and sends commands: no 'database is locked'."""
from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
import traceback

import pytest

from studio.store import open_db
from studio.store.commands import mark_handled, pending_command, send_command
from studio.store.metrics import add_metrics, get_metrics
from studio.store.runs import claim_running, create_run, get_run, heartbeat, set_status

BATCHES = 300
ROWS_PER_BATCH = 20
TOTAL = BATCHES * ROWS_PER_BATCH


def _writer(path: str, run_id: int, errors: "multiprocessing.Queue[str]") -> None:
    """Behave like a training worker: claim, log metric batches, heartbeat, poll commands."""
    try:
        db = open_db(path)
        assert claim_running(db, run_id, os.getpid(), time.time())
        for batch in range(BATCHES):
            step = batch + 1
            add_metrics(db, run_id, [(step, f"m{i}", float(step), time.time())
                                     for i in range(ROWS_PER_BATCH)])
            heartbeat(db, run_id, step=step)
            command = pending_command(db, run_id)
            if command is not None:
                mark_handled(db, command["id"])
            time.sleep(0.008)
        set_status(db, run_id, "completed")
    except BaseException:  # report everything, the parent asserts on it
        errors.put(traceback.format_exc())
        raise


@pytest.mark.slow
def test_writer_and_reader_processes_do_not_lock(tmp_path):
    path = str(tmp_path / "studio.db")
    db = open_db(path)
    run_id = create_run(db, name="mp", config={}, model="m", method="lora", task="t",
                        max_steps=BATCHES)
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    writer = ctx.Process(target=_writer, args=(path, run_id, errors))
    writer.start()

    reader_errors: list[BaseException] = []
    last_id, seen, polls, last_step, full_count = 0, 0, 0, 0, 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            alive = writer.is_alive()
            try:
                new = get_metrics(db, run_id, after_id=last_id)
                run = get_run(db, run_id)
                if polls % 25 == 0:
                    send_command(db, run_id, "pause")  # the GUI writes too
                if polls % 20 == 0:
                    count = len(get_metrics(db, run_id))
                    assert count >= full_count, "row count went backwards"
                    full_count = count
            except sqlite3.OperationalError as exc:
                reader_errors.append(exc)
                new, run = [], get_run(db, run_id)
            polls += 1
            # Batches commit atomically: a poll never sees part of one.
            assert len(new) % ROWS_PER_BATCH == 0
            if new:
                assert new[0]["id"] > last_id
                last_id = new[-1]["id"]
                seen += len(new)
            assert run["step"] >= last_step, "step went backwards"
            last_step = run["step"]
            if not alive:
                break  # this poll started after the writer exited: it saw everything
    finally:
        writer.join(timeout=30)
        if writer.is_alive():
            writer.kill()
    writer_errors = []
    while not errors.empty():
        writer_errors.append(errors.get())
    assert writer_errors == []
    assert writer.exitcode == 0
    assert reader_errors == []
    assert seen == TOTAL == len(get_metrics(db, run_id))
    assert polls > BATCHES  # the reader really raced the writer
    run = get_run(db, run_id)
    assert (run["status"], run["step"]) == ("completed", BATCHES)
