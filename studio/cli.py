"""The `studio` command: the GUI by default, and a headless CLI over the same engine and store."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from studio import __version__
from studio.paths import resolve_home

EPILOG = """\
commands:
  studio                      open the window (without a display: run the demo instead)
  studio train CONFIG         validate, queue and train a run; follow it with a progress bar
  studio runs | show RUN      list runs / one run's details (add --json for scripts)
  studio stop|pause RUN       stop (cancel) or pause a run between steps
  studio resume RUN           continue a paused, crashed or cancelled run from its last checkpoint
  studio adapters             list saved adapters
  studio methods              the fine-tuning methods, their options and what they train
  studio probe CONFIG         exact trainable / total parameters before training (no weights read)
  studio demo                 fine-tune a bundled sample model and show before/after

data home: --home DIR, else $STUDIO_HOME, else the platform's user data folder.
"""


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options (kept in one place so --help stays true)."""
    p = argparse.ArgumentParser(prog="studio", description="Fine-tuning Studio: fine-tune Hugging Face "
                                "models with LoRA and friends.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", help="data home folder (default: $STUDIO_HOME or the user data dir)")
    p.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    g = sub.add_parser("gui", help="open the main window")
    g.add_argument("--screenshot", metavar="PATH", help="render the window to a PNG file and exit")
    g.add_argument("--page", choices=("runs", "adapters"), help="the page to show first")
    t = sub.add_parser("train", help="validate a config, queue the run and train it in a worker")
    t.add_argument("config", help="run config (.yaml or .json)")
    t.add_argument("--detach", action="store_true", help="print the run id and return at once")
    r = sub.add_parser("runs", help="list runs (crashed workers are detected here)")
    r.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    s = sub.add_parser("show", help="one run: status, metrics, checkpoints, warnings, log tail")
    s.add_argument("run", help="run id or name")
    s.add_argument("--json", action="store_true", help="print a JSON object, nothing else")
    for name, text in (("stop", "stop (cancel) a run at the next step"),
                       ("pause", "pause a run: complete checkpoint, worker exits, memory freed")):
        c = sub.add_parser(name, help=text)
        c.add_argument("run", help="run id or name")
    rs = sub.add_parser("resume", help="continue a paused/crashed/cancelled run from its last checkpoint")
    rs.add_argument("run", help="run id or name")
    rs.add_argument("--detach", action="store_true", help="return at once instead of following")
    a = sub.add_parser("adapters", help="list saved adapters")
    a.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    m = sub.add_parser("methods", help="list the fine-tuning methods and their options")
    m.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    pr = sub.add_parser("probe", help="exact trainable/total parameters of a config, before training")
    pr.add_argument("config", help="run config (.yaml or .json)")
    pr.add_argument("--num-labels", type=int, metavar="N",
                    help="classification: size the head for N labels instead of reading the data")
    pr.add_argument("--json", action="store_true", help="print a JSON object, nothing else")
    d = sub.add_parser("demo", help="fine-tune a bundled sample model and show before/after")
    d.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the demo's own)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the `studio` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    home = resolve_home(args.home)
    command = args.command or "gui"
    if command == "gui":
        return _gui(home, screenshot=getattr(args, "screenshot", None), page=getattr(args, "page", None))
    if command == "demo":
        from studio.demo import run_demo

        return run_demo(home, steps=args.steps)
    if command in ("methods", "probe"):
        return globals()[f"_cmd_{command}"](args)
    from studio.store.db import open_db

    home.ensure()
    db = open_db(home.db_path)
    try:
        handler = globals()[f"_cmd_{command}"]
        return handler(db, home, args)
    except LookupError as e:  # unknown run / adapter
        print(f"studio: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2


def _gui(home, screenshot: str | None = None, page: str | None = None) -> int:
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a PNG needs no display
    has_display = (sys.platform in ("win32", "darwin") or os.environ.get("DISPLAY")
                   or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
    if not has_display:
        print("studio: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "running `studio demo` instead.", file=sys.stderr)
        from studio.demo import run_demo

        return run_demo(home)
    from studio.ui.app import run_app

    return run_app(home, screenshot=screenshot, page=page)


def _cmd_methods(args) -> int:
    from studio import methods
    from studio.methods.registry import option_specs

    rows = [{"name": n, "mergeable": methods.get(n).mergeable, "description": methods.get(n).describe(),
             "options": option_specs(n)} for n in methods.names()]
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    for r in rows:
        print(f"{r['name']}{'' if r['mergeable'] else '  (not mergeable)'}\n  {r['description']}")
        for o in r["options"]:
            print(f"    {o['name']} = {o['default']!r}: {o['doc']}")
    return 0


def _cmd_probe(args) -> int:
    from studio.submit import SubmitError, check_method, load_and_check, load_without_data

    try:
        if args.num_labels is not None:
            cfg, labels = load_without_data(args.config), [f"LABEL_{i}" for i in range(args.num_labels)]
        else:
            cfg, data = load_and_check(args.config)
            labels = data.label_names
        result = check_method(cfg, labels, str(args.config))
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['method']} on {result['model']} ({result['model_type']}, {result['task']}): "
          f"{result['trainable_params']:,} of {result['total_params']:,} parameters trainable "
          f"({result['trainable_percent']:.3f}%)")
    for g in result["layer_groups"]:
        print(f"  {g['name']:<12} {g['params']:>12,}")
    print(f"  memory for weights, gradients and optimizer ≈ {result['memory_estimate']['total'] / 2**20:,.1f} MiB"
          " (activations come on top)")
    return 0


def _cmd_train(db, home, args) -> int:
    from studio.submit import SubmitError, check_method, load_and_check, submit

    try:
        cfg, data = load_and_check(args.config)
        probed = check_method(cfg, data.label_names, str(args.config))
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    print(f"{cfg.method.name}: {probed['trainable_params']:,} of {probed['total_params']:,} parameters "
          f"trainable ({probed['trainable_percent']:.3f}%)", file=sys.stderr)
    for w in data.warnings:
        print(f"warning: {w}", file=sys.stderr)
    run_id = submit(db, home, cfg, len(data.train))
    if args.detach:
        print(run_id)
        return 0
    print(f"run {run_id} ({cfg.name}) queued; worker log: {home.run_dir(run_id) / 'worker.log'}", file=sys.stderr)
    from studio.follow import follow

    return follow(db, home, run_id)


def _cmd_runs(db, home, args) -> int:
    from studio import jobs
    from studio.store import metrics

    rows = jobs.refresh(db)
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
        print(f"{r['id']:>4}  {str(r['name'])[:20]:<20} {r['status']:<10} {str(r['method'])[:8]:<8} "
              f"{step:>11}  {loss_s:>8}  {r['model']}")
    return 0


def _cmd_show(db, home, args) -> int:
    from studio import jobs
    from studio.store import checkpoints, metrics, runs

    run = jobs.check_liveness(db, runs.find_run(db, args.run))
    run["last_metrics"] = metrics.last_values(db, run["id"])
    run["checkpoints"] = checkpoints.list_checkpoints(db, run["id"])
    run["adapters"] = [a for a in _adapters(db) if a.get("run_id") == run["id"]]
    run["log_tail"] = jobs.log_tail(home, run["id"])
    if args.json:
        print(json.dumps(run, default=str))
        return 0
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
        print("--- worker log (tail) ---\n" + run["log_tail"])
    return 0


def _adapters(db) -> list[dict]:
    from studio.store import adapters

    return adapters.list_adapters(db)


def _cmd_stop(db, home, args, kind: str = "stop") -> int:
    from studio import jobs
    from studio.store import runs

    run = runs.find_run(db, args.run)
    print(f"asking run {run['id']} to {kind}…", file=sys.stderr)
    run = jobs.request(db, run["id"], kind)
    print(f"run {run['id']} is {run['status']}")
    return 0 if run["status"] in ("cancelled", "paused", "completed") else 1


def _cmd_pause(db, home, args) -> int:
    return _cmd_stop(db, home, args, kind="pause")


def _cmd_resume(db, home, args) -> int:
    from studio import jobs
    from studio.store import runs

    run = runs.find_run(db, args.run)
    jobs.resume(db, home, run["id"])
    if args.detach:
        print(run["id"])
        return 0
    from studio.follow import follow

    return follow(db, home, run["id"])


def _cmd_adapters(db, home, args) -> int:
    rows = _adapters(db)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no adapters yet: a completed run saves one")
        return 0
    print(f"{'NAME':<24} {'METHOD':<8} {'TASK':<14} {'TRAINABLE':>12} {'SIZE':>10}  BASE")
    for a in rows:
        size = f"{(a.get('size_bytes') or 0) / 1e6:.1f} MB"
        print(f"{a['name'][:24]:<24} {str(a['method'])[:8]:<8} {str(a['task']):<14} "
              f"{a.get('trainable_params') or 0:>12,} {size:>10}  {a['base_model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
