"""`studio train | runs | show | stop | pause | resume`: queue runs and watch or steer them."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    t = sub.add_parser("train", help="validate a config, queue the run and train it in a worker")
    t.add_argument("config", help="run config (.yaml or .json)")
    t.add_argument("--detach", action="store_true", help="print the run id and return at once")
    t.add_argument("--json", action="store_true", help='with --detach: print {"run_id": N} only')
    t.set_defaults(run=run_train)
    r = sub.add_parser("runs", help="list runs (crashed workers are detected here); rename, rm",
                       description="Without a subcommand: list the runs.")
    r.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    r.set_defaults(run=run_runs)
    rsub = r.add_subparsers(dest="runs_command", title="subcommands", metavar="SUBCOMMAND")
    p = rsub.add_parser("rename", help="give a run another name")
    p.add_argument("run_ref", metavar="run", help="run id or name")
    p.add_argument("new", help="the new name (letters, digits, '-', '_', '.')")
    p.set_defaults(run=run_rename)
    p = rsub.add_parser("rm", help="delete a run with its folder (checkpoints, log); its adapters stay")
    p.add_argument("run_ref", metavar="run", help="run id or name")
    p.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    p.set_defaults(run=run_rm)
    s = sub.add_parser("show", help="one run: status, metrics, checkpoints, warnings, log tail")
    s.add_argument("run_ref", metavar="run", help="run id or name")
    s.add_argument("--json", action="store_true", help="print a JSON object, nothing else")
    s.set_defaults(run=run_show)
    for name, text, fn in (("stop", "stop (cancel) a run at the next step; a paused run at once", run_stop),
                           ("pause", "pause a run: complete checkpoint, worker exits, memory freed", run_pause)):
        c = sub.add_parser(name, help=text)
        c.add_argument("run_ref", metavar="run", help="run id or name")
        c.set_defaults(run=fn)
    rs = sub.add_parser("resume", help="continue a paused/crashed/cancelled run from its last checkpoint")
    rs.add_argument("run_ref", metavar="run", help="run id or name")
    rs.add_argument("--detach", action="store_true", help="return at once instead of following")
    rs.set_defaults(run=run_resume)


def run_train(args, home, db) -> int:
    from studio.submit import SubmitError, check_method, load_and_check, submit, ulmfit_warnings

    try:
        cfg, data = load_and_check(args.config)
        probed = check_method(cfg, data.label_names, str(args.config))
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    print(f"{cfg.method.name}: {probed['trainable_params']:,} of {probed['total_params']:,} parameters "
          f"trainable ({probed['trainable_percent']:.3f}%)", file=sys.stderr)
    for w in [*data.warnings, *ulmfit_warnings(cfg, probed, len(data.train))]:
        print(f"warning: {w}", file=sys.stderr)
    run_id = submit(db, home, cfg, len(data.train))
    if args.detach:
        print(json.dumps({"run_id": run_id}) if args.json else run_id)
        return 0
    print(f"run {run_id} ({cfg.name}) {_queue_text(db, run_id)}; worker log: "
          f"{home.run_dir(run_id) / 'worker.log'}", file=sys.stderr)
    from studio.follow import follow

    return follow(db, home, run_id)


def run_runs(args, home, db) -> int:
    from studio import jobs
    from studio.store import metrics

    rows = jobs.refresh(db, home)
    if args.json:
        for r in rows:
            r["last_metrics"] = metrics.last_values(db, r["id"])
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no runs yet: studio train CONFIG, or studio demo")
        return 0
    print(f"{'ID':>4}  {'NAME':<20} {'STATUS':<10} {'METHOD':<8} {'STEP':>11}  {'LOSS':>8}  MODEL")
    for r in rows:
        last = metrics.last_values(db, r["id"])
        loss = last.get("eval_loss", last.get("train_loss"))
        step = f"{r.get('step') or 0}/{r.get('max_steps') or '?'}"
        loss_s = f"{loss:.4f}" if loss is not None else "-"
        print(f"{r['id']:>4}  {str(r['name'])[:20]:<20} {jobs.status_text(r):<10} {str(r['method'])[:8]:<8} "
              f"{step:>11}  {loss_s:>8}  {r['model']}")
    return 0


def run_show(args, home, db) -> int:
    from studio import jobs
    from studio.store import checkpoints, metrics, runs

    run = jobs.check_liveness(db, runs.find_run(db, args.run_ref))
    run["queue_position"] = jobs.queue_position(db, run["id"])
    run["last_metrics"] = metrics.last_values(db, run["id"])
    run["checkpoints"] = checkpoints.list_checkpoints(db, run["id"])
    run["adapters"] = [a for a in _adapters(db) if a.get("run_id") == run["id"]]
    run["log_tail"] = jobs.log_tail(home, run["id"])
    if args.json:
        print(json.dumps(run, default=str))
        return 0
    run["status"] = jobs.status_text(run)
    for key in ("id", "name", "status", "model", "method", "task", "step", "max_steps", "stage",
                "trainable_params", "total_params", "error", "run_dir"):
        if run.get(key) not in (None, ""):
            print(f"{key:>17}: {run[key]}")
    for name, value in sorted(run["last_metrics"].items()):
        print(f"{name:>17}: {value:.6g}")
    for c in run["checkpoints"]:
        print(f"       checkpoint: step {c['step']}  {c['path']}")
    for a in run["adapters"]:
        print(f"          adapter: {a['name']}  {a['path']}")
    for w in run.get("warnings") or []:
        print(f"          warning: {w}")
    if run["log_tail"]:
        from studio.jobs.log_lines import readable_log

        print("--- worker log (tail) ---\n" + readable_log(run["log_tail"]))
    return 0


def _queue_text(db, run_id: int) -> str:
    from studio import jobs

    position = jobs.queue_position(db, run_id)
    if position is None:
        return "started"
    return f"queued (#{position}): it starts when the runs ahead of it end"


def _adapters(db) -> list[dict]:
    from studio.store import adapters

    return adapters.list_adapters(db)


def run_stop(args, home, db, kind: str = "stop") -> int:
    from studio import jobs
    from studio.jobs import run_admin
    from studio.store import runs

    run = runs.find_run(db, args.run_ref)
    print(f"asking run {run['id']} to {kind}…", file=sys.stderr)
    # A paused run has no worker to ask: stopping it marks it cancelled, its checkpoints kept.
    run = run_admin.stop(db, run["id"]) if kind == "stop" else jobs.request(db, run["id"], kind)
    print(f"run {run['id']} is {run['status']}")
    return 0 if run["status"] in ("cancelled", "paused", "completed") else 1


def run_pause(args, home, db) -> int:
    return run_stop(args, home, db, kind="pause")


def run_resume(args, home, db) -> int:
    from studio import jobs
    from studio.store import runs

    run = runs.find_run(db, args.run_ref)
    if jobs.resume(db, home, run["id"]) is None:
        print(f"run {run['id']} {_queue_text(db, run['id'])}", file=sys.stderr)
    if args.detach:
        print(run["id"])
        return 0
    from studio.follow import follow

    return follow(db, home, run["id"])


def run_rename(args, home, db) -> int:
    from studio.jobs import run_admin
    from studio.store import runs

    run = runs.find_run(db, args.run_ref)
    renamed = run_admin.rename(db, run["id"], args.new)
    print(f"run {run['id']} renamed from {run['name']} to {renamed['name']}")
    return 0


def run_rm(args, home, db) -> int:
    from studio.commands.confirm import refused
    from studio.jobs import run_admin
    from studio.store import runs

    run = runs.find_run(db, args.run_ref)
    code = refused(f"run {run['id']}", f"Delete run {run['id']} ({run['name']}) and its folder "
                   f"{home.run_dir(run['id'])}?", args.yes)
    if code is not None:
        return code
    removed = run_admin.delete(db, home, run["id"])
    print(f"deleted run {run['id']} ({run['name']})" + (f" and {', '.join(map(str, removed))}" if removed else ""))
    return 0
