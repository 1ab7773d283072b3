"""The text of a cluster bundle's launch scripts (one per node, or one sbatch script) and its README.txt.

Every script runs from the bundle's own folder (data paths in its config are relative to it), checks
the bundle first (`cluster_node verify`: sha256 of every data file, the model) and then starts
PyTorch's launcher with the rendezvous on node 0. Node 0 runs it under the studio's supervisor
(`cluster_node supervise`), which holds the run in the bundle's home: status, heartbeat, the end."""
from __future__ import annotations

import shlex
from typing import Any

PYTHON = '"$PYTHON" -P'  # -P: a `studio` folder in the working directory is never imported instead


def torchrun_args(manifest: dict[str, Any], node_rank: str, endpoint: str) -> str:
    """torchrun's arguments for one node (node_rank and endpoint are shell words, maybe variables)."""
    # Each rank's output in its own file, the node's first rank's also on the console (node 0: worker.log),
    # as the single-machine supervisor does it (studio.worker.launch.rank_log_args).
    logs = f'--log-dir "$BUNDLE/home/runs/{manifest["run_id"]}/ranks/logs" --redirects 3 --tee 3 --local-ranks-filter 0'
    # The static rendezvous, not c10d: c10d ignores --node-rank and ranks the nodes by host name and pid,
    # so global rank 0 (the one that records the run) could land on a node other than node 0, whose
    # supervisor holds the run. Static makes node N's ranks N×per-node…, node 0 hosting the store.
    return (f"-m torch.distributed.run --nnodes {manifest['nodes']} --node-rank {node_rank} "
            f"--nproc-per-node {manifest['processes_per_node']} --rdzv-backend static "
            f"--rdzv-endpoint {endpoint} --max-restarts 0 \\\n    {logs}")


def _rank_entry(manifest: dict[str, Any]) -> str:
    return f'-m studio.worker.rank {manifest["run_id"]} --home "$BUNDLE/home"'


def node_script(manifest: dict[str, Any], node: int) -> str:
    """node-N.sh: check the bundle, then join the group as node N (node 0 hosts the rendezvous)."""
    nodes = manifest["nodes"]
    launch = (f'{PYTHON} {torchrun_args(manifest, str(node), chr(34) + "$ENDPOINT" + chr(34))} \\\n'
              f'    {_rank_entry(manifest)}')
    if node == 0:  # the supervisor checks the bundle before anything else
        launch = f'{PYTHON} -m studio.worker.cluster_node supervise "$BUNDLE" -- \\\n  {launch}'
    else:
        launch = f'{PYTHON} -m studio.worker.cluster_node verify "$BUNDLE"\nexec {launch}'
    return f"""#!/bin/sh
# Node {node} of {nodes} for the studio run {manifest['name']!r} (written by `studio cluster-script`).
# Start node-0.sh on the first node and node-K.sh on node K (K < {nodes}), each once; they wait for
# each other at the rendezvous on node 0 ({manifest['rdzv_endpoint']}). See README.txt.
set -eu
BUNDLE=$(cd "$(dirname "$0")" && pwd)
cd "$BUNDLE/home/runs/{manifest['run_id']}"  # the run's data paths are relative to its folder
PYTHON=${{STUDIO_PYTHON:-python3}}
# As the studio's own launcher starts ranks: nothing imported from the working folder, "[rankN]" lines.
export PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE='[rank${{rank}}] '
ENDPOINT=${{STUDIO_RDZV_ENDPOINT:-{manifest['rdzv_endpoint']}}}
{launch if node else "exec " + launch}
"""


def sbatch_script(manifest: dict[str, Any]) -> str:
    """job.sbatch: one task per node; each checks the bundle and runs torchrun with its SLURM_NODEID."""
    gpus = f"#SBATCH --gpus-per-node={manifest['gpus_per_node']}\n" if manifest["device"] == "cuda" else ""
    slurm = manifest.get("slurm") or {}
    cpus = int(slurm.get("cpus_per_node") or manifest["processes_per_node"])
    asked = "".join(f"#SBATCH --{key}={slurm[key]}\n" for key in ("partition", "time") if slurm.get(key))
    threads = max(1, cpus // manifest["processes_per_node"])
    if not slurm.get("partition"):
        asked += ("# No partition asked for: Slurm's default (studio cluster-script --partition NAME, or add\n"
                  "# #SBATCH --partition=NAME and --account=NAME lines here).\n")
    endpoint = manifest["rdzv_endpoint"] or "$HEAD:29500"  # given with --rdzv-endpoint, else the first node
    body = f"""set -eu
cd "$BUNDLE/home/runs/{manifest['run_id']}"  # the run's data paths are relative to its folder
PYTHON=${{STUDIO_PYTHON:-python3}}
# As the studio's own launcher starts ranks: nothing imported from the working folder, "[rankN]" lines.
export PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE='[rank${{rank}}] '
# The node's cores shared by its ranks (torchrun would give each one thread).
export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{threads}}}
set -- {PYTHON} {torchrun_args(manifest, '"$SLURM_NODEID"', '"$STUDIO_RDZV_ENDPOINT"')} \\
    {_rank_entry(manifest)}
if [ "$SLURM_NODEID" = 0 ]; then  # the supervisor checks the bundle before anything else
  exec {PYTHON} -m studio.worker.cluster_node supervise "$BUNDLE" -- "$@"
fi
{PYTHON} -m studio.worker.cluster_node verify "$BUNDLE"
exec "$@"
"""
    return f"""#!/bin/bash
#SBATCH --job-name=studio-{manifest['name']}
#SBATCH --nodes={manifest['nodes']}
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task={cpus}
{gpus}{asked}#SBATCH --output=slurm-%j.out
# The studio run {manifest['name']!r} on {manifest['nodes']} nodes × {manifest['processes_per_node']} processes
# (written by `studio cluster-script --slurm`). Submit it from the bundle folder: sbatch job.sbatch
set -euo pipefail
export BUNDLE=${{STUDIO_BUNDLE:-$SLURM_SUBMIT_DIR}}
if [ ! -f "$BUNDLE/manifest.json" ]; then
  echo "job.sbatch: $BUNDLE has no manifest.json; submit from the bundle folder (or set STUDIO_BUNDLE)" >&2
  exit 2
fi
# The rendezvous is on the job's first node.
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export STUDIO_RDZV_ENDPOINT=${{STUDIO_RDZV_ENDPOINT:-{endpoint}}}
srun --nodes={manifest['nodes']} --ntasks-per-node=1 --cpus-per-task={cpus} bash -c {shlex.quote(body)}
"""


def readme_text(manifest: dict[str, Any], scripts: list[str]) -> str:
    """README.txt: what the bundle holds, how to start it, follow it and take the adapter home."""
    slurm = scripts == ["job.sbatch"]
    start = ("  sbatch job.sbatch        (from this folder)\n"
             + (f"The rendezvous is at {manifest['rdzv_endpoint']}." if manifest["rdzv_endpoint"] else
                "The rendezvous is on the job's first node (scontrol show hostnames), port 29500.")
             if slurm else
             "  on the first node:   sh node-0.sh\n"
             + "".join(f"  on node {i}:{' ' * (11 - len(str(i)))}sh node-{i}.sh\n" for i in range(1, manifest["nodes"]))
             + f"The rendezvous is node 0 at {manifest['rdzv_endpoint']} (the first node: given with\n"
             "--rdzv-endpoint, else the machine that wrote the bundle); set STUDIO_RDZV_ENDPOINT=HOST:PORT\n"
             "to use another without editing the scripts.")
    model = manifest["model"]
    where = model.get("path") or model["ref"]
    return f"""Studio run bundle: {manifest['name']}
{manifest['nodes']} node(s) × {manifest['processes_per_node']} process(es) = {manifest['processes']} \
on {'CPUs (gloo)' if manifest['device'] == 'cpu' else 'GPUs'}; written by studio {manifest['studio_version']}.

Contents
  config.yaml     the run's config (data paths relative to this folder)
  data/           the data files; manifest.json holds their sizes and sha256
  manifest.json   data files, the model reference ({model['kind']}: {where}), nodes and processes
  home/           a studio data home holding run {manifest['run_id']}: the ranks record into it
  {'  '.join(scripts)}

Start
Copy this folder to every node (or keep it on a shared filesystem); each node needs the studio
installed (STUDIO_PYTHON=/path/to/python if `python3` is not the one) and the model at
{where}. Then
{start}
Each script first checks the bundle (every data file's sha256, the model) and stops with the file's
name if anything differs. Node 0 holds the run: its status, heartbeat and checkpoints, and the
adapter at the end, are written to its copy of home/.

Follow it (on node 0)
  STUDIO_HOME=home studio show {manifest['run_id']}       stop / pause: STUDIO_HOME=home studio stop {manifest['run_id']}
Node 0's ranks write home/runs/{manifest['run_id']}/worker.log; every rank keeps its own output in
home/runs/{manifest['run_id']}/ranks/logs on its node. After a crash, a stop or a pause, starting the scripts
again continues from the last complete checkpoint when every node sees node 0's checkpoints: a shared
filesystem (the usual under Slurm), or node 0's home/runs/{manifest['run_id']}/checkpoints copied to the others first.

Take the adapter home
  studio adapters import home/adapters/NAME
(on the machine that wrote the bundle the base model is where it was; elsewhere add --base MODEL).

Notes
- The run starts 'paused' in home/ so that looking at it never starts it on this machine;
  STUDIO_HOME=home studio resume {manifest['run_id']} trains it on ONE machine with all {manifest['processes']} processes.
- On a shared filesystem every node opens the same home/studio.db; only rank 0 writes to it.
"""
