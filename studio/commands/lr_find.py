"""`studio lr-find`: the learning-rate range test on a fresh copy of a run's start (core/lr_find.py),
kept in the store under the config's hash so the wizard can show the last result."""
from __future__ import annotations

import json
import math
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    f = sub.add_parser("lr-find", help="learning-rate range test: sweep the rate up exponentially from the "
                       "run's start and propose one (steepest descent; min-loss / 10)")
    f.add_argument("config", help="run config (.yaml or .json)")
    f.add_argument("--steps", type=int, default=100, help="optimizer steps of the sweep, at most (default 100)")
    f.add_argument("--start", type=float, default=1e-7, help="first learning rate (default 1e-7)")
    f.add_argument("--end", type=float, default=1.0, help="last learning rate (default 1)")
    f.add_argument("--json", action="store_true",
                   help="print the result as one JSON object; progress as JSON lines on stderr")
    f.set_defaults(run=run_lr_find)


def run_lr_find(args, home, db) -> int:
    from studio.submit import SubmitError, check_method, load_and_check

    if args.steps < 3 or not (0 < args.start < args.end) or not math.isfinite(args.end):
        print(f"studio: need --steps >= 3 and 0 < --start < --end (got {args.steps}, {args.start:g}, "
              f"{args.end:g})", file=sys.stderr)
        return 2
    try:
        cfg, data = load_and_check(args.config)
        check_method(cfg, data.label_names, str(args.config))  # refusals named now, before any weights load
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    from studio.core.lr_find import lr_find
    from studio.store.lr_finds import add_lr_find

    result = lr_find(cfg, home.models_dir, steps=args.steps, start=args.start, end=args.end,
                     reporter=_Progress(args.json), on_point=_point_printer(args.json, args.steps))
    add_lr_find(db, result["config_hash"], result, model=cfg.model, method=cfg.method.name)
    if args.json:
        print(json.dumps(result))
        return 0
    _print_result(result)
    return 0


class _Progress:
    """Stages as progress lines on stderr (JSON for the wizard)."""

    callbacks: list = []
    stop_reason = None

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def stage(self, text: str) -> None:
        if self.as_json:
            print(json.dumps({"stage": text, "fraction": 0.0}), file=sys.stderr, flush=True)
        else:
            print(f"{text}…", file=sys.stderr, flush=True)

    def warn(self, messages: list[str]) -> None:
        for m in messages:
            print(f"warning: {m}", file=sys.stderr, flush=True)

    def set_max_steps(self, *args) -> None: ...
    def checkpoint_saved(self, *args) -> None: ...


def _point_printer(as_json: bool, steps: int):
    def point(i: int, lr: float, loss: float) -> None:
        if as_json:
            print(json.dumps({"stage": "sweeping the learning rate", "fraction": round(i / steps, 3),
                              "lr": lr, "loss": loss}), file=sys.stderr, flush=True)
        elif i % 10 == 0 or i == 1:
            print(f"  step {i:>4}  lr {lr:.2e}  loss {loss:.4f}", file=sys.stderr, flush=True)
    return point


def _print_result(r: dict) -> None:
    fmt = lambda v: "-" if v is None else f"{v:.2e}"  # noqa: E731
    print(f"{r['method']} on {r['model']}: {r['steps_run']} of {r['steps']} steps, {r['stopped']}")
    print(f"  steepest descent:   {fmt(r['steepest'])}")
    print(f"  min-loss rate / 10: {fmt(r['min_loss_div10'])}  (minimum at {fmt(r['min_loss'])})")
    if r["suggested"] is None:
        print(f"  no suggestion: {r['reason']}")
    else:
        print(f"  suggested: {fmt(r['suggested'])} ({r['rule']}: {r['reason']})")
        if r["layer_groups"]:
            print("  ULMFiT: this is the top group's rate; lower groups keep their ratio: "
                  + ", ".join(f"{g['name']} {r['suggested'] * g['factor']:.1e}" for g in r["layer_groups"]))
    if r["suggested"] is not None:
        print(f"  set training.learning_rate: {r['suggested']:.3g}")
