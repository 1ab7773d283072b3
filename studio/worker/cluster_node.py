"""`python -m studio.worker.cluster_node verify|supervise BUNDLE`: what a cluster bundle's node scripts run.

verify: every node, before torchrun — the bundle's data and model as written (studio/jobs/cluster_verify.py).
supervise: node 0 only — releases the run the bundle holds and trains it under the studio's supervisor
(studio/worker/supervise.py) with the node's torchrun command, so the bundle's home shows it like a local
run: 'running' with a heartbeat, then completed / failed / crashed, and nothing left running."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (2: the bundle does not fit this node)."""
    parser = argparse.ArgumentParser(prog="studio-cluster-node")
    parser.add_argument("action", choices=("verify", "supervise"))
    parser.add_argument("bundle", help="the bundle folder")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="supervise: -- then node 0's torchrun command")
    args = parser.parse_args(argv)
    from studio.jobs.cluster_verify import BundleError, verify_bundle, version_note

    try:
        manifest = verify_bundle(args.bundle)
    except BundleError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    note = version_note(manifest)
    if note:
        print(note, file=sys.stderr)
    print(f"bundle {args.bundle}: {len(manifest['data'])} data file(s) and the model "
          f"{manifest['model']['ref']} as written", file=sys.stderr)
    if args.action == "verify":
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("supervise needs the torchrun command after --")
    return supervise(Path(args.bundle).resolve() / "home", manifest["run_id"], command)


def supervise(home_root: Path, run_id: int, command: list[str]) -> int:
    """Queue the held run for this supervisor alone, then train it with `command` under the supervisor."""
    from studio.config import RunConfig
    from studio.jobs.liveness import check_liveness
    from studio.paths import Home
    from studio.store import commands, runs
    from studio.store.db import now, open_db
    from studio.worker.supervise import supervise_command

    home = Home(home_root)
    db = open_db(home.db_path)
    try:
        # A supervisor killed earlier left 'running' behind: seen as crashed, it continues from its checkpoint.
        run = check_liveness(db, runs.get_run(db, run_id), advance=False)
        if run["status"] not in ("paused", "queued", "crashed", "failed", "cancelled"):
            why = "nothing left to train" if run["status"] == "completed" else "its supervisor is still alive"
            print(f"studio: run {run_id} in {home.root} is {run['status']}: {why}", file=sys.stderr)
            return 2
        commands.clear_commands(db, run_id)  # a stop left from an earlier attempt must not end this one
        runs.set_status(db, run_id, "queued")
        # Marked launched: a `studio show` or `studio runs` on this node meanwhile must not start it in a
        # local worker (a waiting run would be); the supervisor claims it next.
        runs.update_run(db, run_id, launched_at=now(), pid=None, pid_started_at=None)
    finally:
        db.conn.close()
    stall = RunConfig.from_dict(run["config"], source=f"run {run_id} config").training.distributed.stall_timeout_s
    return supervise_command(home, run_id, command, stall_timeout_s=stall)


if __name__ == "__main__":
    sys.exit(main())
