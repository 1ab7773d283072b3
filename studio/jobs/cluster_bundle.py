"""A self-contained run bundle for a cluster: its own data home with the run held, the data copied in,
a manifest (sha256 of every data file, the model reference) and the per-node launch scripts.

The bundle is a folder the user copies to every node (or leaves on a shared filesystem): the ranks
train it with the same worker, recorder and store code as a local run, into `home/`, so
`STUDIO_HOME=bundle/home studio show 1` follows it and the adapter lands in `home/adapters/`.
No torch here: the config was checked by the caller (studio cluster-script)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from studio import __version__
from studio.config import RunConfig, dump_config
from studio.jobs.cluster_scripts import node_script, readme_text, sbatch_script
from studio.library.bundle import sha256_file, staged_output
from studio.paths import Home

MANIFEST = "manifest.json"
CONFIG = "config.yaml"
RUN_ID = 1  # the bundle's home holds this one run
RUN_TO_BUNDLE = "../../.."  # from the run's folder (home/runs/1, where its processes run) to the bundle
DEFAULT_PORT = 29500  # torchrun's own default rendezvous port
_HOST = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.\-]*|\[[0-9A-Fa-f:.]+\])$")


@dataclass(frozen=True)
class ClusterShape:
    """Where the run trains: nodes × processes per node, on GPUs or (gpus_per_node 0 / cpu) on CPUs."""

    nodes: int
    gpus_per_node: int
    cpu: bool = False

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ValueError(f"--nodes must be 1 or more, got {self.nodes}")
        if self.gpus_per_node < 0:
            raise ValueError(f"--gpus-per-node must be 0 (CPU) or more, got {self.gpus_per_node}")

    @property
    def on_cpu(self) -> bool:
        """Train with the gloo backend on CPUs (no GPUs given, or --cpu)."""
        return self.cpu or self.gpus_per_node == 0

    @property
    def per_node(self) -> int:
        """Processes torchrun starts on each node: one per GPU, one on a CPU-only node."""
        return self.gpus_per_node or 1

    @property
    def world_size(self) -> int:
        """Processes in the whole group."""
        return self.nodes * self.per_node


def parse_endpoint(text: str | None) -> str:
    """HOST:PORT for torchrun's c10d rendezvous; default: this machine (taken as node 0), port 29500."""
    if text is None:
        return f"{socket.gethostname()}:{DEFAULT_PORT}"
    host, sep, port = text.rpartition(":")
    # The host goes into shell scripts as it is: only host-name and IP-address characters.
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--rdzv-endpoint must be HOST:PORT (e.g. node001:{DEFAULT_PORT}), got {text!r}")
    return text


def cluster_config(cfg: RunConfig, shape: ClusterShape, source: str | None = None) -> RunConfig:
    """The run's config for this cluster: every process of the group counted, CPUs (gloo) when asked."""
    d = cfg.to_dict()
    training = d["training"]
    # processes counts the whole group, so the recorded effective batch is micro × accumulation × all ranks.
    training["distributed"] = {**(training.get("distributed") or {}), "processes": shape.world_size}
    if shape.on_cpu:
        training["device"] = "cpu"  # gloo on CPUs: the bundle can be tried on any machine
    return RunConfig.from_dict(d, source=source)


def copy_data(cfg: RunConfig, folder: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Copy the data files into folder/data; returns the bundle-relative paths and manifest entries."""
    paths: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    (folder / "data").mkdir()
    for role in ("train", "validation"):
        ref = getattr(cfg.data, role)
        if ref is None:
            continue
        src = Path(ref)
        if not src.is_file():  # a hub dataset id: each node loads it by name
            entries.append({"role": role, "hub_id": ref})
            continue
        rel = f"data/{src.name}"
        if (folder / rel).exists():  # train and validation both named data.jsonl
            rel = f"data/{role}-{src.name}"
        shutil.copy2(src, folder / rel)
        paths[role] = rel
        entries.append({"role": role, "path": rel, "source": str(src), "size": src.stat().st_size,
                        "sha256": sha256_file(folder / rel)})
    return paths, entries


def describe_model(ref: str) -> dict[str, Any]:
    """The model reference as the manifest records it, with a fingerprint each node checks."""
    from studio.modelinfo.sources import resolve_model

    src = resolve_model(ref)
    entry: dict[str, Any] = {"ref": ref, "kind": "sample" if ref.startswith("sample:") else src.kind}
    if src.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref, "config.json")
        entry["config_sha256"] = sha256_file(Path(cached)) if isinstance(cached, str) else None
    elif src.gguf_file:  # one big file: its size, not a hash of gigabytes
        entry.update(path=str(Path(src.path) / src.gguf_file),
                     size=(Path(src.path) / src.gguf_file).stat().st_size)
    else:
        entry.update(path=src.path, config_sha256=sha256_file(Path(src.path) / "config.json"))
    return entry


def write_bundle(cfg: RunConfig, out: str | Path, shape: ClusterShape, *, max_steps: int | None,
                 endpoint: str | None, slurm: dict | None = None) -> Path:
    """Write the bundle to `out` (refused when it exists and is not empty); returns its folder.

    cfg is cluster_config's, checked, with absolute data paths and model reference; slurm (partition,
    time, cpus_per_node) asks for job.sbatch instead of node scripts."""
    with staged_output(out) as tmp:
        data_paths, data_entries = copy_data(cfg, tmp)
        # Relative paths are read from the config file's folder: the bundle's copy sits at its root,
        # the run's own in home/runs/1, which is also where its processes run (the node scripts go there,
        # and so does a worker the bundle's home starts), wherever the bundle is copied.
        dump_config(replace(cfg, data=replace(cfg.data, **data_paths)), tmp / CONFIG)
        from_run = {role: f"{RUN_TO_BUNDLE}/{rel}" for role, rel in data_paths.items()}
        _write_home(Home(tmp / "home"), replace(cfg, data=replace(cfg.data, **from_run)), max_steps)
        manifest = {
            "studio_version": __version__, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run_id": RUN_ID, "name": cfg.name, "nodes": shape.nodes, "gpus_per_node": shape.gpus_per_node,
            "processes_per_node": shape.per_node, "processes": shape.world_size,
            "device": "cpu" if shape.on_cpu else "cuda", "rdzv_endpoint": endpoint,
            "data": data_entries, "model": describe_model(cfg.model),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        scripts = [f"node-{i}.sh" for i in range(shape.nodes)]
        if slurm:
            scripts = ["job.sbatch"]
            _write_script(tmp / "job.sbatch", sbatch_script({**manifest, "slurm": slurm}))
        else:
            for i in range(shape.nodes):
                _write_script(tmp / f"node-{i}.sh", node_script(manifest, i))
        (tmp / "README.txt").write_text(readme_text(manifest, scripts), encoding="utf-8")
    return Path(out).expanduser().absolute()


def _write_home(home: Home, cfg: RunConfig, max_steps: int | None) -> None:
    """The bundle's own home: the run recorded and held ('paused'), so that looking at it with
    `studio show` or `studio runs` never starts it in a local worker; node 0 releases it."""
    from studio.store import runs
    from studio.store.db import open_db

    home.ensure()
    db = open_db(home.db_path)
    try:
        # run_dir stays NULL: the home's layout (home/runs/1) holds wherever the bundle is copied.
        run_id = runs.create_run(db, name=cfg.name, config=cfg.to_dict(), model=cfg.model,
                                 method=cfg.method.name, task=cfg.task, max_steps=max_steps)
        assert run_id == RUN_ID, f"a fresh bundle home holds run {RUN_ID}, got {run_id}"
        runs.cancel_waiting(db, run_id, status="paused")
        home.run_dir(run_id).mkdir(parents=True)
        dump_config(cfg, home.run_dir(run_id) / CONFIG)
    finally:
        db.conn.close()  # closing the last connection folds the WAL into studio.db before the rename


def _write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o755)
