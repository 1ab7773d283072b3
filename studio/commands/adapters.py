"""`studio adapters`: the saved adapters."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    a = sub.add_parser("adapters", help="list saved adapters")
    a.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    a.set_defaults(run=run_adapters)


def run_adapters(args, home, db) -> int:
    from studio.store import adapters

    rows = adapters.list_adapters(db)
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
