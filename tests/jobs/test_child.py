"""Children started by the window and the queue run this studio, whatever folder they start in."""
from __future__ import annotations

import os
import subprocess

from studio import jobs
from studio.jobs import child
from studio.store import open_db, runs
from tests.conftest import wait_for


def _decoy(folder):
    (folder / "studio").mkdir(parents=True)
    (folder / "studio" / "__init__.py").write_text("raise ImportError('the decoy studio folder was imported')\n")


def test_a_child_ignores_a_studio_folder_in_its_cwd(tmp_path):
    _decoy(tmp_path)
    proc = subprocess.run([*child.python_prefix(), "-m", "studio", "--version"], cwd=tmp_path,
                          env=child.child_env({k: v for k, v in os.environ.items() if k != "PYTHONPATH"}),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "decoy" not in proc.stderr


def test_child_env_puts_this_studio_first_once():
    env = child.child_env({"PYTHONPATH": os.pathsep.join(["/elsewhere", str(child.package_root())])})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(child.package_root()), "/elsewhere"]


def test_a_worker_launched_into_a_run_folder_holding_a_studio_folder_still_runs_the_run(home):
    db = open_db(home.db_path)
    # A config the worker refuses at once: enough to show that the real studio.worker ran it.
    run_id = runs.create_run(db, name="decoy", config={"name": "decoy", "model": "", "task": "nonsense"},
                             model="m", method="lora", task="causal-lm", max_steps=1)
    _decoy(home.run_dir(run_id))
    assert jobs.start_next(db, home) == run_id
    run = wait_for(lambda: (r := runs.get_run(db, run_id))["status"] in ("failed", "completed", "crashed") and r,
                   timeout=120, interval=0.2, what="the worker to finish")
    log = (home.run_dir(run_id) / "worker.log").read_text()
    assert run["status"] == "failed" and "decoy" not in log, log
