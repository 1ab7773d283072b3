"""The run queue: one run trains at a time per data home; the next starts when it ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from studio import jobs
from studio.core import faults
from studio.store import commands, open_db, runs
from tests.conftest import ROOT, instruction_rows, studio, wait_for, write_config, write_jsonl

CLAIMER = """
import sys, time
from pathlib import Path
from studio import jobs
from studio.paths import Home
from studio.store import open_db
home = Home(Path(sys.argv[1]))
db = open_db(home.db_path)
jobs.launch = lambda db, home, run_id: 0  # only the claim is under test, not a real worker
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
print(jobs.start_next(db, home))
"""


@pytest.fixture
def db(home):
    database = open_db(home.db_path)
    yield database
    database.conn.close()


def new_run(db, name: str) -> int:
    return runs.create_run(db, name=name, config={}, model="m", method="lora", task="causal-lm", max_steps=10)


def fake_launch(launched: list):
    """A launch that records the id and points the run at this live process instead of a worker."""
    def launch(db, home, run_id):
        launched.append(run_id)
        runs.update_run(db, run_id, pid=os.getpid(), pid_started_at=psutil.Process().create_time(),
                        heartbeat_at=time.time())
        return os.getpid()
    return launch


def test_oldest_waiting_run_starts_only_when_nothing_occupies_the_machine(db, home, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(jobs, "launch", fake_launch(launched))
    a, b, c = new_run(db, "a"), new_run(db, "b"), new_run(db, "c")
    assert runs.queue_positions(db) == {a: 1, b: 2, c: 3}
    assert jobs.start_next(db, home) == a
    assert jobs.start_next(db, home) is None  # a is starting (launched, not claimed by its worker)
    runs.claim_running(db, a, os.getpid(), psutil.Process().create_time())
    assert jobs.start_next(db, home) is None  # a is running
    rows = {r["id"]: r for r in jobs.refresh(db, home)}
    assert rows[b]["queue_position"] == 1 and rows[c]["queue_position"] == 2 and rows[a]["queue_position"] is None
    runs.set_status(db, a, "completed")
    assert jobs.refresh(db, home) and launched == [a, b]  # refresh moved the queue on
    assert jobs.queue_position(db, c) == 1


def test_resumed_run_joins_the_back_of_the_queue(db, home, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(jobs, "launch", fake_launch(launched))
    a = new_run(db, "a")
    jobs.start_next(db, home)
    runs.claim_running(db, a, os.getpid(), psutil.Process().create_time())
    b = new_run(db, "b")
    runs.set_status(db, b, "paused")
    c = new_run(db, "c")
    assert jobs.resume(db, home, b) is None  # a runs: b waits, behind c which was queued first
    assert runs.queue_positions(db) == {c: 1, b: 2}
    runs.set_status(db, a, "completed")
    assert jobs.start_next(db, home) == c and launched == [a, c]


def test_waiting_run_is_cancelled_or_held_at_once(db, home, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(jobs, "launch", fake_launch(launched))
    a = new_run(db, "a")
    jobs.start_next(db, home)
    runs.claim_running(db, a, os.getpid(), psutil.Process().create_time())
    b, c = new_run(db, "b"), new_run(db, "c")
    assert jobs.request(db, b, "stop")["status"] == "cancelled"
    assert jobs.request(db, c, "pause")["status"] == "paused"
    assert commands.pending_command(db, b) is None  # no worker to tell: it never started
    assert runs.queue_positions(db) == {} and launched == [a]
    assert jobs.resumable(runs.get_run(db, c))


def test_claimed_run_whose_worker_never_spawned_is_crashed_and_the_next_starts(db, home, monkeypatch):
    launched: list[int] = []
    a, b = new_run(db, "a"), new_run(db, "b")
    assert runs.claim_next(db) == a  # as if its launcher died right after claiming
    monkeypatch.setattr(jobs, "launch", fake_launch(launched))
    assert jobs.start_next(db, home) is None
    later = time.time() + jobs.STALE_AFTER_S + 1
    run = jobs.check_liveness(db, runs.get_run(db, a), now=later)
    assert run["status"] == "crashed" and "never started" in run["error"]
    assert launched == [b]


def test_a_failing_launch_does_not_block_the_queue(db, home, monkeypatch):
    def broken(db, home, run_id):
        raise OSError("no such interpreter")
    monkeypatch.setattr(jobs, "launch", broken)
    a, b = new_run(db, "a"), new_run(db, "b")
    assert jobs.start_next(db, home) is None
    assert runs.get_run(db, a)["status"] == "failed" and "no such interpreter" in runs.get_run(db, a)["error"]
    assert runs.queue_positions(db) == {b: 1}


def test_concurrent_start_next_from_threads_starts_exactly_one(db, home, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(jobs, "launch", lambda db, home, run_id: launched.append(run_id) or 0)
    ids = [new_run(db, f"r{i}") for i in range(3)]
    barrier = threading.Barrier(8)
    results: list[int | None] = []

    def race():
        conn = open_db(home.db_path)  # one connection per thread, as every process has its own
        try:
            barrier.wait()
            results.append(jobs.start_next(conn, home))
        finally:
            conn.conn.close()
    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results, key=lambda r: r is None) == [ids[0]] + [None] * 7
    assert launched == [ids[0]]


def test_concurrent_start_next_from_processes_starts_exactly_one(db, home):
    ids = [new_run(db, f"r{i}") for i in range(3)]
    go = str(time.time() + 4)  # every process waits for the same moment, imports done
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(home.root), go], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(outputs) == sorted([str(ids[0])] + ["None"] * 3)
    assert runs.queue_positions(db) == {ids[1]: 1, ids[2]: 2}


# --- end to end: real CLI, real workers, tiny models

def _configs(tmp_path, tiny_models, first_steps: int) -> tuple[Path, Path]:
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(40))
    paths = []
    for name, steps in (("first", first_steps), ("second", 4)):
        folder = tmp_path / name
        folder.mkdir()
        paths.append(write_config(folder, name=name, model=str(tiny_models["gpt2"]),
                                  data={"train": str(data), "max_length": 32},
                                  training={"max_steps": steps, "save_steps": steps, "eval_steps": steps}))
    return paths[0], paths[1]


def _submit(home, cfg: Path) -> int:
    return json.loads(studio(home, "train", str(cfg), "--detach", "--json", check=True).stdout)["run_id"]


def test_second_run_waits_for_the_first_then_starts_by_itself(tmp_path, home, tiny_models, db, monkeypatch):
    # The first run holds after its first step until the checks below are done (it used to get 400
    # steps and the hope that they outlast two CLI calls: slow, and on a busy machine not always).
    hold = tmp_path / "hold-first-run"
    hold.touch()
    monkeypatch.setenv(faults.HOLD_WHILE_FILE, str(hold))
    first_cfg, second_cfg = _configs(tmp_path, tiny_models, first_steps=6)
    first, second = _submit(home, first_cfg), _submit(home, second_cfg)
    run = wait_for(lambda: (r := runs.get_run(db, first))["status"] == "running" and r["step"] >= 1 and r,
                   timeout=120, what="the first run to train a step")
    assert runs.is_waiting(runs.get_run(db, second)) and runs.get_run(db, first)["status"] == "running"
    listing = studio(home, "runs", check=True).stdout
    assert "queued #1" in next(line for line in listing.splitlines() if line.lstrip().startswith(str(second)))
    assert json.loads(studio(home, "show", str(second), "--json", check=True).stdout)["queue_position"] == 1
    assert runs.get_run(db, first)["status"] == "running"  # the checks above ran while it trained
    hold.unlink()
    done = wait_for(lambda: (r := runs.get_run(db, second))["status"] in ("completed", "failed") and r,
                    timeout=300, what="the second run to finish")
    assert done["status"] == "completed", done["error"]
    first_run = runs.get_run(db, first)
    assert first_run["status"] == "completed" and run["pid"] != done["pid"]
    assert done["started_at"] >= first_run["finished_at"]  # never both at once


def test_killed_worker_is_noticed_by_refresh_and_the_next_run_starts(tmp_path, home, tiny_models, db):
    first_cfg, second_cfg = _configs(tmp_path, tiny_models, first_steps=5000)
    first, second = _submit(home, first_cfg), _submit(home, second_cfg)
    run = wait_for(lambda: (r := runs.get_run(db, first))["step"] >= 1 and r, timeout=120,
                   what="the first run to train")
    assert runs.is_waiting(runs.get_run(db, second))
    os.kill(run["pid"], signal.SIGKILL)
    wait_for(lambda: not jobs.is_alive(run["pid"], run["pid_started_at"]), timeout=10, what="the worker to die")
    listed = {r["id"]: r for r in json.loads(studio(home, "runs", "--json", check=True).stdout)}
    assert listed[first]["status"] == "crashed"
    assert listed[second]["status"] in ("queued", "running") and listed[second]["queue_position"] is None
    done = wait_for(lambda: (r := runs.get_run(db, second))["status"] in ("completed", "failed") and r,
                    timeout=300, what="the second run to finish")
    assert done["status"] == "completed", done["error"]
