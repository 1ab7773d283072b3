"""`studio inspect-data`: the data as training will see it (format, counts, rendered examples with
their trained spans, token lengths), for the wizard's Data step and for checking data by hand."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    d = sub.add_parser("inspect-data", help="check a config's data and preview it as training will see it")
    d.add_argument("config", help="run config (.yaml or .json)")
    d.add_argument("--examples", type=int, default=5, metavar="N", help="rendered examples to show (default 5)")
    d.add_argument("--json", action="store_true",
                   help="print a JSON object, nothing else; unusable data gives ok false and the error "
                        "(file:line: message) with exit status 0")
    d.set_defaults(run=run_inspect_data, needs_db=False)


def run_inspect_data(args, home, db) -> int:
    from studio.core.inspect_data import inspect_data

    result = inspect_data(args.config, home, max(0, args.examples))
    if args.json:
        print(json.dumps(result))
        return 0
    if not result["ok"]:
        print(f"studio: {result['error']}", file=sys.stderr)
        return 2
    counts, lengths = result["counts"], result["lengths"]
    print(f"format {result['format']}: {counts['train']} training rows, {counts['validation']} validation rows")
    if result["label_names"]:
        print(f"labels: {', '.join(result['label_names'])}")
    print(f"tokens per row: longest {lengths['longest']}, {lengths['over']} over max_length={lengths['max_length']}")
    for w in result["warnings"]:
        print(f"warning: {w}")
    for ex in result["examples"]:
        if ex.get("kind") == "preference":  # each answer after its prompt: chosen, rejected (KTO: completion)
            label = f"  -> {'desirable' if ex['label'] else 'undesirable'}" if ex["label"] is not None else ""
            print(f"--- {ex['where']} ({ex['tokens']} tokens){label}")
            for side in ("chosen", "rejected", "completion"):
                if side in ex:
                    print(f"[{side}]\n{_marked(ex[side], ex['trained'][side])}")
            continue
        label = f"  -> label {ex['label']}" if ex["label"] is not None else ""
        print(f"--- {ex['where']} ({ex['tokens']} tokens){label}\n{_marked(ex['text'], ex['trained'])}")
    return 0


def _marked(text: str, spans: list) -> str:
    """Trained characters in [[ ]] so the terminal shows what carries loss."""
    marked, at = [], 0
    for start, end in spans:
        marked += [text[at:start], "[[", text[start:end], "]]"]
        at = end
    return "".join(marked) + text[at:]
