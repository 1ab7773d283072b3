"""The torchrun command of a multi-process run, and the supervisor's watch against fake ranks.

The fake ranks are plain Python (no model): they write progress files like the real rank entry and
wait for each other at every step as a collective would, so a stopped rank holds the other one up.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from studio.paths import Home
from studio.store import open_db, runs
from studio.worker import launch, rank_faults, supervise
from tests.conftest import ROOT, wait_for

FAKE_RANK = r'''
import json, os, sys, time
from pathlib import Path
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
folder, steps = Path(sys.argv[1]) / "ranks", int(sys.argv[2])
def write(step):
    tmp = folder / f".rank-{rank}.tmp"
    tmp.write_text(json.dumps({"rank": rank, "pid": os.getpid(), "step": step, "time": time.time(),
                               "stage": "training"}))
    os.replace(tmp, folder / f"rank-{rank}.json")
def step_of(r):
    try:
        return json.loads((folder / f"rank-{r}.json").read_text())["step"]
    except (OSError, ValueError):
        return -1
write(0)
print(f"fake rank {rank} started", flush=True)
for step in range(1, steps + 1):
    while min(step_of(r) for r in range(world)) < step - 1:  # the "collective"
        time.sleep(0.02)
    time.sleep(0.15)
    write(step)
'''


def test_the_command_is_torchrun_with_the_rank_entry(tmp_path, monkeypatch):
    home = Home(tmp_path / "h")
    cmd = launch.torchrun_command(home, 7, 2, tmp_path / "run")
    assert cmd[:6] == [sys.executable, "-P", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node"]
    assert cmd[6:10] == ["2", "--max-restarts", "0", "--log-dir"]
    assert cmd[-5:] == ["-m", "studio.worker.rank", "7", "--home", str(home.root)]
    env = launch.torchrun_env(2, {"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/elsewhere"] and env["PYTHONSAFEPATH"] == "1"
    # A frozen build runs itself: its torchrun sub-command, and the executable as the ranks' program.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    frozen = launch.torchrun_command(home, 7, 2, tmp_path / "run", extra_args=["--nnodes", "2"])
    assert frozen[:4] == [sys.executable, "torchrun", "--nnodes", "2"]
    assert frozen[-6:] == ["--no-python", sys.executable, "worker-rank", "7", "--home", str(home.root)]
    assert launch.resolve_processes(3) == 3 and launch.resolve_processes("auto") >= 1


def test_faults_read_as_one_line():
    summary = ("Failures:\n  rank      : 0 (local_rank: 0)\n  exitcode  : -15 (pid: 1)\n"
               "Root Cause (first observed failure):\n[0]:\n  time      : x\n  rank      : 1 (local_rank: 1)\n"
               "  exitcode  : -9 (pid: 2)  (SIGKILL)\n")
    assert rank_faults.root_cause(summary) == (1, -9)
    # Rank 0 failing on the broken connection may come first in torchrun's eyes; the kill is the cause.
    late = ("Failures:\n  rank      : 1 (local_rank: 1)\n  exitcode  : -9 (pid: 2)\n"
            "Root Cause (first observed failure):\n  rank      : 0 (local_rank: 0)\n  exitcode  : 1 (pid: 1)\n")
    assert rank_faults.root_cause(late) == (1, -9)
    assert rank_faults.root_cause(late.replace("-9", "1")) == (0, 1)
    assert rank_faults.death_message(1, -9, 5, None).startswith("rank 1 was killed by SIGKILL at step 5;")
    log = ("[rank1]: Traceback (most recent call last):\n[rank1]:   File \"x.py\", line 1, in <module>\n"
           "[rank1]:     boom()\n[rank1]: RuntimeError: boom\nsome later line\n")
    assert rank_faults.exception_line(log) == "RuntimeError: boom"
    oom = rank_faults.death_message(1, 1, 3, "studio.worker.oom.OutOfMemory: Out of memory at step 3")
    assert rank_faults.OOM_NOTE in oom
    import torch.distributed as dist  # rank 0's broken collective is the peer's death, not its own failure

    assert rank_faults.peer_failure(dist.DistBackendError("whatever the backend says"))
    assert rank_faults.peer_failure(RuntimeError("[gloo/transport/tcp/pair.cc:534] Connection closed by peer [::1]:1"))
    assert not rank_faults.peer_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    watch = supervise._Watch(2, 5.0, started=0.0)
    fine = {0: {"step": 4, "time": 100.0, "stage": "training"}, 1: {"step": 4, "time": 100.0, "stage": "training"}}
    assert watch.verdict(fine, 104.0) is None
    behind = {**fine, 1: {"step": 3, "time": 99.0, "stage": "training"}}
    assert watch.verdict(behind, 106.0).startswith("rank 1 stopped advancing at step 3")
    saving = {**fine, 0: {"step": 4, "time": 100.0, "stage": "saving"}}  # a checkpoint save may take long
    assert watch.verdict(saving, 106.0) is None


def _supervise(home: Home, run_id: int, run_dir, mode_steps: int, stall: float) -> subprocess.Popen:
    script = run_dir.parent / "fake_rank.py"
    script.write_text(FAKE_RANK)
    cmd = launch.torchrun_command(home, run_id, 2, run_dir, entry=[str(script), str(run_dir), str(mode_steps)])
    code = ("import json, sys; from pathlib import Path; from studio.paths import Home; "
            "from studio.worker.supervise import supervise_command as s; "
            f"sys.exit(s(Home(Path({str(home.root)!r})), {run_id}, json.loads(sys.argv[1]), 2, {stall}))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(run_dir / "worker.log", "ab") as log:  # as jobs.launch starts a worker
        return subprocess.Popen([sys.executable, "-P", "-c", code, json.dumps(cmd)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _group_left(run_dir) -> list[int]:
    """torchrun and the ranks: every live process whose command line names the run folder."""
    left = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and str(run_dir) in " ".join(proc.info["cmdline"] or []):
            left.append(proc.pid)
    return left


def test_the_final_status_says_what_ended_the_group(tmp_path):
    home = Home(tmp_path / "home").ensure()
    db = open_db(home.db_path)

    def run(status="running", error=None):
        run_id = runs.create_run(db, name=f"r{time.time_ns()}", config={}, model="m", method="lora",
                                 task="causal-lm", max_steps=9)
        runs.set_status(db, run_id, status, error=error)
        return run_id

    logs = tmp_path / "run" / "ranks" / "logs" / "x_1" / "attempt_0" / "1"
    logs.mkdir(parents=True)
    (logs / "stderr.log").write_text("[rank1]: Traceback (most recent call last):\n[rank1]:   File x\n"
                                     "[rank1]: ValueError: bad row 3\n")
    (tmp_path / "run" / "ranks" / "rank-1.json").write_text('{"rank": 1, "pid": 1, "step": 4, "time": 0}')
    summary = "Root Cause (first observed failure):\n[0]:\n  rank      : 1 (local_rank: 1)\n  exitcode  : 1 (pid: 9)\n"
    cases = [  # (status before, torchrun's exit code, its output) → (status after, error starts with)
        (("completed", None), 0, "", ("completed", None)),
        (("running", None), 0, "", ("failed", "the ranks exited without recording")),
        (("running", None), 1, summary, ("failed", "rank 1 failed at step 4: ValueError: bad row 3;")),
        (("cancelled", None), 1, summary, ("failed", "rank 1 failed at step 4")),  # rank 0 only saw SIGTERM
        (("failed", "Out of memory at step 2 …"), 1, summary.replace(": 1 (", ": 0 ("),
         ("failed", "Out of memory at step 2 … (" + rank_faults.OOM_NOTE)),
        (("running", None), -9, "", ("crashed", "torchrun exited with code -9 and named no rank")),
    ]
    for (before, error), code, output, (after, text) in cases:
        run_id = run(before, error)
        assert supervise._finish(db, run_id, code, None, output, tmp_path / "run") == after
        assert (runs.get_run(db, run_id)["error"] or "").startswith(text or ""), (before, code)
    stalled = run()
    assert supervise._finish(db, stalled, -9, "rank 1 stopped advancing at step 4", "", tmp_path) == "crashed"


def test_a_hard_kill_of_the_worker_reaches_ranks_in_sessions_of_their_own():
    # The worker's own session, and below it a "rank" in another session (as torchrun starts them).
    code = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " start_new_session=True); time.sleep(60)")
    worker = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    rank = wait_for(lambda: psutil.Process(worker.pid).children(), 20, what="the rank")[0]
    from studio.jobs import process

    process.signal_worker({"pid": worker.pid, "pid_started_at": None}, signal.SIGKILL)
    worker.wait(timeout=10)
    wait_for(lambda: not psutil.pid_exists(rank.pid) or rank.status() == psutil.STATUS_ZOMBIE, 10, what="rank gone")


def _supervise(home: Home, run_id: int, run_dir, steps: int, stall: float) -> subprocess.Popen:
    script = run_dir.parent / "fake_rank.py"
    script.write_text(FAKE_RANK)
    cmd = launch.torchrun_command(home, run_id, 2, run_dir, entry=[str(script), str(run_dir), str(steps)])
    code = ("import json, sys; from pathlib import Path; from studio.paths import Home; "
            "from studio.worker.supervise import supervise_command as s; "
            f"sys.exit(s(Home(Path({str(home.root)!r})), {run_id}, json.loads(sys.argv[1]), None, {stall}))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(run_dir / "worker.log", "ab") as log:  # as jobs.launch starts a worker
        return subprocess.Popen([sys.executable, "-P", "-c", code, json.dumps(cmd)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _group_left(run_dir) -> list[int]:
    """torchrun and the ranks: every live process whose command line names the run folder."""
    left = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and str(run_dir) in " ".join(proc.info["cmdline"] or []):
            left.append(proc.pid)
    return left


@pytest.mark.slow
def test_a_rank_that_stops_advancing_ends_the_group_and_names_the_rank(tmp_path):
    # (A rank killed outright is torchrun's to report: tests/worker/test_distributed_faults.py, real ranks.)
    home = Home(tmp_path / "home").ensure()
    db = open_db(home.db_path)
    run_id = runs.create_run(db, name="hang", config={}, model="m", method="lora", task="causal-lm", max_steps=9)
    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True)
    sup = _supervise(home, run_id, run_dir, 400, stall=3.0)
    wait_for(lambda: rank_faults.read_progress(run_dir).get(1, {}).get("step", 0) >= 3, 120, what="step 3")
    os.kill(rank_faults.read_progress(run_dir)[1]["pid"], signal.SIGSTOP)  # as if stuck in a collective
    assert sup.wait(timeout=120) == 1
    run = runs.get_run(db, run_id)
    assert run["status"] == "crashed" and run["error"].startswith("rank 1 stopped advancing at step"), run
    assert "stall_timeout_s is 3" in run["error"]
    assert not _group_left(run_dir), "torchrun or a rank is still running"
    log = (run_dir / "worker.log").read_text()
    assert "supervisor: rank 1 stopped advancing" in log and "[rank0] " in log


    # The supervisor itself killed -9: torchrun hears it (PDEATHSIG) and ends its ranks; none trains on.
    run_id = runs.create_run(db, name="orphans", config={}, model="m", method="lora", task="causal-lm", max_steps=9)
    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True)
    sup = _supervise(home, run_id, run_dir, 400, stall=600.0)
    wait_for(lambda: len(rank_faults.read_progress(run_dir)) == 2, 120, what="both ranks")
    sup.kill()
    sup.wait()
    wait_for(lambda: not _group_left(run_dir), 60, what="torchrun and the ranks gone")
