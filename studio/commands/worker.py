"""`studio worker RUN --home DIR`: the training worker, for a frozen build that has no `python -m`.

studio.jobs.worker_command starts a frozen build's own executable with this subcommand; from a
source install it is the same as `python -m studio.worker RUN --home DIR`.
"""
from __future__ import annotations


def register(sub) -> None:
    """Add this module's subcommands."""
    w = sub.add_parser("worker", help="(internal) train one queued run; the studio starts it for you")
    w.add_argument("run_id", type=int, help="the run to train")
    # Its own dest: a subparser's default would otherwise overwrite a top-level `--home` given earlier.
    w.add_argument("--home", dest="worker_home", metavar="DIR",
                   help="data home (default: the top-level --home, $STUDIO_HOME or the user data dir)")
    w.set_defaults(run=run_worker, needs_db=False)


def run_worker(args, home, db) -> int:
    """Run the worker's own main with the same arguments; returns its exit code."""
    from studio.worker.__main__ import main

    root = args.worker_home or str(home.root)
    return main([str(args.run_id), "--home", root])
