"""`studio cluster-script`: a run bundle and the launch commands for several machines (torchrun per
node, or one sbatch script), from a config file or a run in the store (studio/jobs/cluster_bundle.py)."""
from __future__ import annotations

import sys
from pathlib import Path

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def register(sub) -> None:
    """Add this module's subcommands."""
    c = sub.add_parser("cluster-script", help="train on several machines: a run bundle + each node's torchrun "
                       "script (or sbatch)",
                       description="Writes a folder to copy to every node: the config with its data files "
                       "copied in, a manifest (sha256 of each data file, the model reference), a studio home "
                       "of its own holding the run, and node-0.sh ... node-{M-1}.sh (or job.sbatch). "
                       "See its README.txt.")
    c.add_argument("source", metavar="RUN_OR_CONFIG", help="a run (id or name) or a run config (.yaml/.json)")
    c.add_argument("--nodes", type=int, required=True, help="machines (M)")
    c.add_argument("--gpus-per-node", type=int, required=True,
                   help="GPUs per machine: one process each (0: one CPU process per machine, gloo)")
    c.add_argument("--cpu", action="store_true", help="train on CPUs (gloo) even where there are GPUs; "
                   "--gpus-per-node processes per machine")
    c.add_argument("--slurm", action="store_true", help="write job.sbatch (one srun task per node) instead "
                   "of node-N.sh scripts")
    c.add_argument("--partition", metavar="NAME", help="with --slurm: the Slurm partition (default: the cluster's)")
    c.add_argument("--time", metavar="LIMIT", help="with --slurm: the job's time limit, e.g. 12:00:00 "
                   "(default: the partition's)")
    c.add_argument("--cpus-per-node", type=int, metavar="N", help="with --slurm: CPU cores per node "
                   "(default: 8 per GPU, or 4 per CPU process); the ranks share them as threads")
    c.add_argument("--out", metavar="DIR", help="the bundle folder (default: ./NAME-cluster); never overwritten")
    c.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="the rendezvous on the first node (default: "
                   "this machine's host name, port 29500; with --slurm the job's first node)")
    c.set_defaults(run=run_cluster_script)


def run_cluster_script(args, home, db) -> int:
    from studio.jobs.cluster_bundle import ClusterShape, parse_endpoint, write_bundle
    from studio.submit import SubmitError, expected_steps, load_and_check

    shape = ClusterShape(args.nodes, args.gpus_per_node, cpu=args.cpu)  # ValueError: printed by the CLI
    # Under Slurm the first node is only known in the job: the script asks scontrol, unless told.
    endpoint = parse_endpoint(args.rdzv_endpoint) if args.rdzv_endpoint or not args.slurm else None
    slurm = slurm_options(shape, args)  # ValueError: printed by the CLI
    try:
        cfg, base_dir, source = _source_config(args.source, db)
        # Checked as one process on this machine, then as the cluster's nodes will run it: this machine
        # may have none of their GPUs (a login node, a laptop).
        cfg, data = load_and_check(_one_process(cfg), base_dir)
        cfg = _for_nodes(cfg, shape, source)
        _check_method(cfg, data.label_names, source, shape.on_cpu)
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    for w in data.warnings:
        print(f"warning: {w}", file=sys.stderr)
    out = Path(args.out) if args.out else Path.cwd() / f"{cfg.name}-cluster"
    folder = write_bundle(cfg, out, shape, max_steps=expected_steps(cfg, len(data.train)), endpoint=endpoint,
                          slurm=slurm)
    device = _plural(shape.per_node, "CPU process", "CPU processes") + " (gloo)" if shape.on_cpu else \
        _plural(shape.per_node, "GPU", "GPUs")
    nodes = f"{shape.nodes} {_plural(shape.nodes, 'node', 'nodes')}"
    rendezvous = "the job's first node" if args.slurm else endpoint
    if not args.slurm and not args.rdzv_endpoint:
        rendezvous += (" (this machine's name: if node 0 is another machine, write the bundle with "
                       "--rdzv-endpoint NODE0:PORT or start the nodes with STUDIO_RDZV_ENDPOINT set)")
    print(f"bundle: {folder}\n{nodes} × {shape.per_node} {device} = {shape.world_size} processes; "
          f"rendezvous: {rendezvous}")
    if args.slurm:
        print(f"start:  cd {folder} && sbatch job.sbatch   ({slurm['cpus_per_node']} cores per node"
              + "".join(f", {k} {v}" for k, v in (("partition", slurm["partition"]), ("time", slurm["time"])) if v)
              + ")")
    else:
        print(f"start:  sh {folder}/node-0.sh on the first node" +
              "".join(f", sh node-{i}.sh on node {i}" for i in range(1, shape.nodes)))
    print(f"follow: STUDIO_HOME={folder}/home studio show 1   (README.txt says more)")
    return 0


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def slurm_options(shape, args) -> dict | None:
    """--partition/--time/--cpus-per-node for job.sbatch (None without --slurm, where they are refused)."""
    given = [f"--{n.replace('_', '-')}" for n in ("partition", "time", "cpus_per_node") if getattr(args, n) is not None]
    if not args.slurm:
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --slurm")
        return None
    cpus = args.cpus_per_node or (8 if not shape.on_cpu else 4) * shape.per_node
    if cpus < shape.per_node:
        raise ValueError(f"--cpus-per-node {cpus} is fewer than the {shape.per_node} processes per node")
    return {"partition": args.partition, "time": args.time, "cpus_per_node": cpus}


def _source_config(ref: str, db):
    """(the config as written or stored, folder its relative paths are read from, name for errors)."""
    from studio.config import ConfigError, RunConfig, load_config
    from studio.store import runs
    from studio.submit import SubmitError

    path = Path(ref)
    try:
        if path.is_file() or path.suffix.lower() in CONFIG_SUFFIXES:
            return load_config(path), path.resolve().parent, str(path)  # a missing file: named
        run = runs.find_run(db, ref)  # LookupError: 'no run ...', printed by the CLI
        source = f"run {run['id']} config"
        return RunConfig.from_dict(run["config"], source=source), None, source
    except ConfigError as e:
        raise SubmitError(str(e)) from None


def _one_process(cfg):
    from dataclasses import replace

    distributed = replace(cfg.training.distributed, processes=1)
    return replace(cfg, training=replace(cfg.training, distributed=distributed))


def _for_nodes(cfg, shape, source: str):
    """The config shaped for the cluster, refused as its nodes would refuse it (with or without CUDA)."""
    from studio.config import ConfigError
    from studio.core.distributed_check import refuse_distributed
    from studio.jobs.cluster_bundle import cluster_config
    from studio.submit import SubmitError

    try:
        shaped = cluster_config(cfg, shape, source)
        refuse_distributed(shaped, cuda=not shape.on_cpu)
    except ConfigError as e:
        raise SubmitError(str(e if e.source else e.located(source))) from None
    return shaped


def _check_method(cfg, label_names, source: str, on_cpu: bool) -> None:
    """What the method refuses on this model (a meta-device probe). CPU nodes run as this machine does,
    so their speed settings are checked too; GPU nodes check theirs (offload, liger) when they start."""
    from studio.config import ConfigError
    from studio.submit import SubmitError, check_method

    if on_cpu:
        check_method(cfg, label_names, source)
        return
    from studio.core.probe import probe

    try:
        probe(cfg, label_names)
    except ConfigError as e:
        raise SubmitError(str(e if e.source else e.located(source))) from None
    except (ValueError, OSError) as e:
        raise SubmitError(f"{source}: method {cfg.method.name!r} cannot be used with model {cfg.model!r}: {e}") from None
