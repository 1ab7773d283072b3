"""`studio cluster-script` without training: the bundle's files, manifest and held run, the node scripts
and the sbatch text, the verify step refusing a changed data file, and bad arguments refused by name."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, instruction_rows, write_config, write_jsonl


@pytest.fixture
def project(tmp_path, tiny_models):
    """A config beside its data, on the tiny gpt2, 4 LoRA steps."""
    folder = tmp_path / "project"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", instruction_rows(24))
    write_jsonl(folder / "val.jsonl", instruction_rows(8))
    return write_config(folder, model=str(tiny_models["gpt2"]),
                        data={"train": "train.jsonl", "validation": "val.jsonl"},
                        training={"max_steps": 4, "batch_size": 2, "save_steps": 2, "eval_steps": 2})


def cluster_script(home, capsys, *args: str) -> tuple[int, str, str]:
    """`studio cluster-script ARGS` in this process (the probe's imports are paid once per session)."""
    from studio.cli import main

    code = main(["--home", str(home.root), "cluster-script", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow  # the first probe in a process imports transformers and peft (~15 s on 2 busy cores)
def test_bundle_holds_the_run_data_manifest_and_node_scripts(home, project, tmp_path, capsys):
    from studio.jobs.cluster_verify import BundleError, verify_bundle
    from studio.store import runs
    from studio.store.db import open_db
    from studio.worker.cluster_node import main as node_main

    out = tmp_path / "bundle"
    code, stdout, stderr = cluster_script(home, capsys, str(project), "--nodes", "2", "--gpus-per-node", "0",
                                          "--out", str(out), "--rdzv-endpoint", "node001:29600")
    assert code == 0, stderr
    assert f"bundle: {out}" in stdout and "2 processes" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["nodes"], manifest["processes_per_node"], manifest["processes"], manifest["device"]) == (
        2, 1, 2, "cpu")
    assert manifest["model"]["kind"] == "folder" and manifest["model"]["config_sha256"]
    assert {(d["role"], d["path"]) for d in manifest["data"]} == {("train", "data/train.jsonl"),
                                                                  ("validation", "data/val.jsonl")}
    assert (out / "data" / "train.jsonl").read_bytes() == (project.parent / "train.jsonl").read_bytes()

    # The bundle's config reads its data from the bundle; the run's copy from its folder (home/runs/1).
    assert yaml.safe_load((out / "config.yaml").read_text())["data"]["train"] == "data/train.jsonl"
    db = open_db(out / "home" / "studio.db")
    run = runs.get_run(db, 1)
    db.conn.close()
    assert run["status"] == "paused" and run["run_dir"] is None and run["max_steps"] == 4
    assert run["config"]["data"]["train"] == "../../../data/train.jsonl"
    assert (out / "home" / "runs" / "1" / run["config"]["data"]["validation"]).resolve() == (
        out / "data" / "val.jsonl").resolve()
    assert run["config"]["training"]["device"] == "cpu"
    assert run["config"]["training"]["distributed"]["processes"] == 2

    for node in (0, 1):
        script = (out / f"node-{node}.sh").read_text()
        assert f"--nnodes 2 --node-rank {node} --nproc-per-node 1 --rdzv-backend static" in script
        assert '--rdzv-endpoint "$ENDPOINT"' in script and "STUDIO_RDZV_ENDPOINT:-node001:29600" in script
        assert '-m studio.worker.rank 1 --home "$BUNDLE/home"' in script
        assert ("cluster_node supervise" in script) == (node == 0)  # node 0 holds the run
        assert subprocess.run(["sh", "-n", str(out / f"node-{node}.sh")]).returncode == 0
    assert "node001:29600" in (out / "README.txt").read_text()

    # Node 0's supervisor takes the held run; a torchrun stand-in that records nothing fails it, saying so.
    def supervise(*command: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-m", "studio.worker.cluster_node", "supervise", str(out), "--",
                               *command], capture_output=True, text=True, env=env, timeout=120)

    assert supervise(sys.executable, "-c", "pass").returncode == 1
    db = open_db(out / "home" / "studio.db")
    run = runs.get_run(db, 1)
    assert run["status"] == "failed" and "exited without recording" in run["error"]
    runs.set_status(db, 1, "completed")
    db.conn.close()
    done = supervise(sys.executable, "-c", "raise SystemExit('never started')")
    assert done.returncode == 2 and "is completed: nothing left to train" in done.stderr

    # Refused: writing over it; verify on a node whose copy of a data file changed (named), before training.
    again = cluster_script(home, capsys, str(project), "--nodes", "2", "--gpus-per-node", "0", "--out", str(out))
    assert again[0] == 2 and "already exists" in again[2]
    assert verify_bundle(out)["run_id"] == 1
    node1 = tmp_path / "elsewhere" / "copy"
    shutil.copytree(out, node1)  # copied to another place: still valid there
    assert verify_bundle(node1)["rdzv_endpoint"] == "node001:29600"
    with open(node1 / "data" / "val.jsonl", "a") as f:
        f.write('{"instruction": "x", "input": "", "output": "y"}\n')
    with pytest.raises(BundleError, match=r"data/val\.jsonl: sha256 differs"):
        verify_bundle(node1)
    assert node_main(["verify", str(node1)]) == 2
    assert "val.jsonl: sha256 differs from manifest.json" in capsys.readouterr().err
    (node1 / "data" / "train.jsonl").unlink()
    with pytest.raises(BundleError, match=r"data/train\.jsonl: missing"):
        verify_bundle(node1)


@pytest.mark.slow  # the probe, when this test runs alone
def test_slurm_script_from_a_stored_run(home, project, tmp_path, capsys):
    from studio.store import runs
    from studio.store.db import open_db
    from studio.submit import load_and_check

    cfg, _ = load_and_check(project)  # as `studio train` stores it: absolute paths
    stored = cfg.to_dict()
    stored["training"]["distributed"]["strategy"] = "fsdp"  # GPU-only: fine for GPU nodes, from this CPU machine
    db = open_db(home.db_path)
    run_id = runs.create_run(db, name="stored", config=stored, model=cfg.model, method="lora",
                             task="causal-lm", max_steps=4)
    db.conn.close()
    out = tmp_path / "slurm"
    code, _, stderr = cluster_script(home, capsys, str(run_id), "--nodes", "3", "--gpus-per-node", "4",
                                     "--slurm", "--out", str(out))
    assert code == 0, stderr
    assert (out / "data" / "val.jsonl").read_bytes() == (project.parent / "val.jsonl").read_bytes()
    text = (out / "job.sbatch").read_text()
    for line in ("#SBATCH --nodes=3", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=4",
                 "#SBATCH --cpus-per-task=32", "export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}"):
        assert line in text.splitlines()  # 8 cores per GPU unless told: not Slurm's default of one
    assert "--partition" not in "".join(ln for ln in text.splitlines() if ln.startswith("#SBATCH"))
    assert 'HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)' in text
    assert "STUDIO_RDZV_ENDPOINT:-$HEAD:29500" in text
    assert '--nnodes 3 --node-rank "$SLURM_NODEID" --nproc-per-node 4 --rdzv-backend static' in text
    assert '--rdzv-endpoint "$STUDIO_RDZV_ENDPOINT"' in text
    assert "srun --nodes=3 --ntasks-per-node=1" in text and not list(out.glob("node-*.sh"))
    assert subprocess.run(["bash", "-n", str(out / "job.sbatch")]).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["processes"], manifest["device"], manifest["rdzv_endpoint"]) == (12, "cuda", None)
    asked = tmp_path / "asked"
    code, stdout, stderr = cluster_script(home, capsys, str(run_id), "--nodes", "2", "--gpus-per-node", "2", "--slurm",
                                          "--partition", "gpu", "--time", "02:00:00", "--cpus-per-node", "12",
                                          "--out", str(asked))
    assert code == 0, stderr
    lines = (asked / "job.sbatch").read_text().splitlines()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --time=02:00:00", "#SBATCH --cpus-per-task=12",
                 "export OMP_NUM_THREADS=${OMP_NUM_THREADS:-6}"):
        assert line in lines
    assert "12 cores per node, partition gpu, time 02:00:00" in stdout
    code, _, stderr = cluster_script(home, capsys, str(run_id), "--nodes", "2", "--gpus-per-node", "2",
                                     "--partition", "gpu", "--out", str(tmp_path / "no"))
    assert code != 0 and "--partition only apply with --slurm" in stderr
    bundled = yaml.safe_load((out / "config.yaml").read_text())["training"]
    assert bundled["distributed"] == {"processes": 12, "strategy": "fsdp", "stall_timeout_s": 600.0}
    assert bundled["device"] == "auto"

    # What the nodes would refuse is refused now, by field: FSDP on CPU nodes, gradual unfreezing anywhere.
    code, _, err = cluster_script(home, capsys, str(run_id), "--nodes", "2", "--gpus-per-node", "0",
                                  "--out", str(tmp_path / "cpu"))
    assert code == 2 and "training.distributed.strategy: fsdp needs CUDA GPUs" in err, err
    ulmfit = write_config(tmp_path, model=cfg.model, data={"train": cfg.data.train},
                          training={"ulmfit": {"gradual_unfreezing": True}})
    code, _, err = cluster_script(home, capsys, str(ulmfit), "--nodes", "2", "--gpus-per-node", "1",
                                  "--out", str(tmp_path / "u"))
    assert code == 2 and f"{ulmfit}: training.distributed.processes: ULMFiT gradual unfreezing" in err, err
    assert not (tmp_path / "cpu").exists() and not (tmp_path / "u").exists()


def test_bad_arguments_are_refused_by_name(home, tmp_path, capsys):
    refusals = {  # checked before the config is read
        ("--nodes", "0", "--gpus-per-node", "1"): "--nodes must be 1 or more",
        ("--nodes", "2", "--gpus-per-node", "-1"): "--gpus-per-node must be 0",
        ("--nodes", "2", "--gpus-per-node", "1", "--rdzv-endpoint", "node1"): "--rdzv-endpoint must be HOST:PORT",
        ("--nodes", "2", "--gpus-per-node", "1", "--rdzv-endpoint", "a;rm -rf x:1"): "HOST:PORT",
    }
    for args, message in refusals.items():
        code, _, err = cluster_script(home, capsys, str(tmp_path / "run.yaml"), *args, "--out", str(tmp_path / "x"))
        assert code == 2 and message in err, (args, err)
    code, _, err = cluster_script(home, capsys, "no-such-run", "--nodes", "2", "--gpus-per-node", "1")
    assert code == 2 and "no-such-run" in err
    missing = tmp_path / "missing.yaml"
    code, _, err = cluster_script(home, capsys, str(missing), "--nodes", "2", "--gpus-per-node", "1")
    assert code == 2 and f"{missing}: config file not found" in err
    assert not (tmp_path / "x").exists()
