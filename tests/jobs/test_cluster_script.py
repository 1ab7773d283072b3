"""Two "nodes" on loopback from the scripts `studio cluster-script` writes: node-0.sh and node-1.sh, each on
its own copy of the bundle (as on two machines), one CPU process each (gloo), rendezvous on 127.0.0.1.

One run trained with world size 2: completed in node 0's home with one set of checkpoints and one adapter,
nothing recorded in node 1's copy, and the adapter imports into another home with `studio adapters import`."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT, instruction_rows, write_config, write_jsonl

pytestmark = pytest.mark.slow


def free_port() -> int:
    """A TCP port nothing listens on now (the rendezvous binds it a few seconds later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(script, log_path, endpoint: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), STUDIO_PYTHON=sys.executable, STUDIO_RDZV_ENDPOINT=endpoint,
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("STUDIO_HOME", None)  # the scripts name the bundle's own home
    with open(log_path, "wb") as log:
        return subprocess.Popen(["sh", str(script)], stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=str(log_path.parent), start_new_session=True)


def test_two_nodes_on_loopback_train_one_run_whose_adapter_imports(home, tiny_models, tmp_path, capsys):
    from studio.cli import main
    from studio.store import adapters, checkpoints, metrics, runs
    from studio.store.db import open_db

    project = tmp_path / "project"
    project.mkdir()
    write_jsonl(project / "train.jsonl", instruction_rows(16))
    config = write_config(project, name="two-nodes", model=str(tiny_models["gpt2"]), data={"train": "train.jsonl"},
                          method={"name": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
                          training={"max_steps": 4, "batch_size": 2, "save_steps": 2, "eval_steps": 100,
                                    "keep_checkpoints": 3})
    node0 = tmp_path / "node0" / "bundle"
    assert main(["--home", str(home.root), "cluster-script", str(config), "--nodes", "2", "--gpus-per-node", "0",
                 "--out", str(node0), "--rdzv-endpoint", "127.0.0.1:29500"]) == 0, capsys.readouterr().err
    node1 = tmp_path / "node1" / "bundle"
    shutil.copytree(node0, node1)  # the second machine's copy, at another path

    endpoint = f"127.0.0.1:{free_port()}"
    procs = [start_node(node0 / "node-0.sh", tmp_path / "node0" / "out.log", endpoint),
             start_node(node1 / "node-1.sh", tmp_path / "node1" / "out.log", endpoint)]
    try:
        codes = [p.wait(timeout=420) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    logs = "\n".join(f"--- {n}\n" + (n / "out.log").read_text(errors="replace") for n in (node0.parent, node1.parent))
    worker_log = node0 / "home" / "runs" / "1" / "worker.log"
    logs += "\n--- node 0 worker.log\n" + (worker_log.read_text(errors="replace") if worker_log.exists() else "")
    assert codes == [0, 0], logs

    db = open_db(node0 / "home" / "studio.db")
    run = runs.get_run(db, 1)
    assert run["status"] == "completed", (run.get("error"), logs)
    assert run["step"] == 4
    last = metrics.last_values(db, 1)
    assert last.get("world_size") == 2 and last.get("effective_batch") == 4, last  # 2 per step × 2 ranks
    steps = [row[0] for row in db.execute("SELECT step FROM metrics WHERE run_id = 1 AND name = 'train_loss'")]
    assert steps == sorted(set(steps)) and len(steps) == 4  # one series, each step once
    assert [c["step"] for c in checkpoints.list_checkpoints(db, 1)] == [2, 4]
    rows = [a for a in adapters.list_adapters(db) if a.get("run_id") == 1]
    db.conn.close()
    assert len(rows) == 1 and [p.name for p in (node0 / "home" / "adapters").iterdir()] == [rows[0]["name"]]

    # Each rank reported progress on its own node; node 1's copy recorded nothing of the run.
    progress = {n: sorted(p.name for p in (n / "home" / "runs" / "1" / "ranks").glob("rank-*.json"))
                for n in (node0, node1)}
    assert progress == {node0: ["rank-0.json"], node1: ["rank-1.json"]}, progress
    assert json.loads((node1 / "home" / "runs" / "1" / "ranks" / "rank-1.json").read_text())["step"] == 4
    db1 = open_db(node1 / "home" / "studio.db")
    assert runs.get_run(db1, 1)["status"] == "paused" and metrics.last_values(db1, 1) == {}
    db1.conn.close()
    assert not list((node1 / "home" / "adapters").iterdir())

    # The adapter comes home: imported into another library, its base found where the bundle named it.
    other = tmp_path / "other-home"
    capsys.readouterr()
    assert main(["--home", str(other), "adapters", "import", str(node0 / "home" / "adapters" / rows[0]["name"]),
                 "--json"]) == 0, capsys.readouterr().err
    imported = json.loads(capsys.readouterr().out)
    assert imported["method"] == "lora" and imported["task"] == "causal-lm"
    meta = json.loads((other / "adapters" / imported["name"] / "studio.json").read_text())
    assert meta["base_model_path"] == str(tiny_models["gpt2"])
