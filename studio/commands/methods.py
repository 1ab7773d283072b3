"""`studio methods | probe`: what each method trains, and exactly how much of a given model."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    m = sub.add_parser("methods", help="list the fine-tuning methods and their options")
    m.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    m.set_defaults(run=run_methods, needs_db=False)
    pr = sub.add_parser("probe", help="exact trainable/total parameters of a config, before training")
    pr.add_argument("config", help="run config (.yaml or .json)")
    pr.add_argument("--num-labels", type=int, metavar="N",
                    help="classification: size the head for N labels instead of reading the data")
    pr.add_argument("--all-methods", action="store_true",
                    help="probe every method on the config's model (each with its default options, "
                         "the config's own method with its options); a method the model cannot take "
                         "gets its reason instead of counts")
    pr.add_argument("--json", action="store_true", help="print a JSON object, nothing else")
    pr.set_defaults(run=run_probe, needs_db=False)


def run_methods(args, home, db) -> int:
    from studio import methods
    from studio.methods.registry import option_specs

    rows = [{"name": n, "mergeable": methods.get(n).mergeable, "description": methods.get(n).describe(),
             "learning_rate": methods.get(n).learning_rate, "options": option_specs(n)}
            for n in methods.names()]
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    for r in rows:
        print(f"{r['name']}{'' if r['mergeable'] else '  (not mergeable)'}\n  {r['description']}")
        for o in r["options"]:
            print(f"    {o['name']} = {o['default']!r}: {o['doc']}")
    return 0


def run_probe(args, home, db) -> int:
    from studio.submit import SubmitError, check_method, load_and_check, load_without_data

    try:
        if args.num_labels is not None:
            cfg, labels = load_without_data(args.config), [f"LABEL_{i}" for i in range(args.num_labels)]
        else:
            cfg, data = load_and_check(args.config)
            labels = data.label_names
        if args.all_methods:
            result = probe_all(cfg, labels, str(args.config))
        else:
            result = check_method(cfg, labels, str(args.config))
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    if args.all_methods:
        print(json.dumps(result) if args.json else "\n".join(
            f"{m['method']:<10} " + (f"{m['trainable_params']:>12,} ({m['trainable_percent']:.3f}%)"
                                     if "error" not in m else f"cannot: {m['error']}") for m in result["methods"]))
        return 0
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


def probe_all(cfg, labels, source: str) -> dict:
    """Every method probed on cfg's model; refusals carry their reason. Also says whether CUDA is here."""
    from dataclasses import replace

    import torch

    from studio import methods
    from studio.config import MethodSpec
    from studio.submit import SubmitError, check_method

    results = []
    for name in methods.names():
        options = cfg.method.options if name == cfg.method.name else {}
        try:
            results.append(check_method(replace(cfg, method=MethodSpec(name, options)), labels, source))
        except SubmitError as e:
            results.append({"method": name, "error": str(e).removeprefix(f"{source}: ")})
    return {"model": cfg.model, "task": cfg.task, "cuda": torch.cuda.is_available(), "methods": results}
