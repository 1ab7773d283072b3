"""`studio methods | probe`: what each method trains, exactly how much of a given model, and what
training it takes in memory (estimated, or measured with --measure)."""
from __future__ import annotations

import contextlib
import json
import sys

from studio.modelinfo.memory import format_memory


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
    pr.add_argument("--measure", action="store_true",
                    help="train 3 steps on the data's longest rows (a micro-batch of them, as the run would) "
                         "and print the measured peak memory beside the estimate; nothing is kept")
    pr.add_argument("--json", action="store_true", help="print a JSON object, nothing else")
    pr.set_defaults(run=run_probe, needs_db=False)


def run_methods(args, home, db) -> int:
    from studio import methods
    from studio.config import TASKS
    from studio.methods.rates import recommended_rate
    from studio.methods.registry import option_specs

    # learning_rates: the rate a config of each task gets when it names none (the wizard's default)
    rows = [{"name": n, "mergeable": methods.get(n).mergeable, "description": methods.get(n).describe(),
             "learning_rate": methods.get(n).learning_rate, "options": option_specs(n),
             "learning_rates": {t: recommended_rate(n, t) for t in TASKS}}
            for n in methods.names()]
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    for r in rows:
        print(f"{r['name']}{'' if r['mergeable'] else '  (not mergeable)'}\n  {r['description']}")
        print("  starting learning rate: " + ", ".join(f"{t} {v:g}" for t, v in r["learning_rates"].items()))
        for o in r["options"]:
            print(f"    {o['name']} = {o['default']!r}: {o['doc']}")
    return 0


def run_probe(args, home, db) -> int:
    from studio.submit import SubmitError, check_method, load_and_check, load_without_data

    if args.measure:
        return run_measure(args, home)
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
    est = result["memory_estimate"]
    print(f"  memory estimate: {est['problem']}" if est["problem"] else
          f"  memory estimate ≈ {format_memory(est['total_bytes'])} on {est['device']} (weights "
          f"{format_memory(est['weights_bytes'])}, trainable state {format_memory(est['trainable_state_bytes'])}, "
          f"activations {format_memory(est['activation_bytes'])}, overhead {format_memory(est['overhead_bytes'])})")
    return 0


def run_measure(args, home) -> int:
    """`studio probe CONFIG --measure`: 3 steps on the longest rows; measured peak beside the estimate."""
    from studio.core.measure import MeasureError, measure
    from studio.submit import SubmitError, check_method, load_and_check

    if args.all_methods or args.num_labels is not None:
        print("studio: --measure trains the config's own method on its own data; drop --all-methods and "
              "--num-labels", file=sys.stderr)
        return 2

    def stage(text: str, fraction: float) -> None:
        line = json.dumps({"stage": text, "fraction": round(fraction, 3)}) if args.json else f"  {text}"
        print(line, file=sys.stderr, flush=True)

    try:
        cfg, data = load_and_check(args.config)
        check_method(cfg, data.label_names, str(args.config))  # a refusal is named before anything loads
        with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs; stdout is the answer's
            result = measure(cfg, data, home.models_dir, len(data.label_names or []) or 2, stage)
    except SubmitError as e:
        print(f"studio: {e}", file=sys.stderr)
        return 2
    except (MeasureError, RuntimeError, ValueError, OSError) as e:
        print(f"studio: {args.config}: measuring failed: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    rows, cols = result["batch_shape"]
    est = result["estimate"]
    print(f"{result['method']} on {result['model']} ({result['device']}, {result['precision']}): "
          f"{result['steps']} steps on the {len(result['rows'])} longest rows "
          f"({'packed into ' if result['packed'] else ''}{rows} × {cols} tokens) in {result['seconds']:.1f} s")
    print(f"  measured peak  {format_memory(result['measured_bytes']):>10}  ({result['measured']})")
    if result["loading_peak_bytes"] is not None:
        print(f"  loading peak   {format_memory(result['loading_peak_bytes']):>10}  (while the model loaded)")
    print(f"  estimate       {format_memory(result['estimate_bytes']):>10}" if result["estimate_bytes"] else
          f"  estimate       unavailable: {est['problem']}")
    if result["ratio"] is not None:
        print(f"  measured / estimate = {result['ratio']:.2f}")
    return 0


def probe_all(cfg, labels, source: str) -> dict:
    """Every method probed on cfg's model; refusals carry their reason. Also says whether CUDA is here."""
    from dataclasses import replace

    from studio import methods
    from studio.config import MethodSpec
    from studio.core.probe import machine, model_facts
    from studio.submit import SubmitError, check_method

    results = []
    for name in methods.names():
        options = cfg.method.options if name == cfg.method.name else {}
        try:
            results.append(check_method(replace(cfg, method=MethodSpec(name, options)), labels, source))
        except SubmitError as e:
            results.append({"method": name, "error": str(e).removeprefix(f"{source}: ")})
    # The model's header facts and this machine's CUDA/bf16 let the GUI recompute the one memory
    # estimate (studio.modelinfo.memory) at once when the batch, length or checkpointing change.
    return {"model": cfg.model, "task": cfg.task, **machine(), "facts": model_facts(cfg.model).to_dict(),
            "methods": results}
