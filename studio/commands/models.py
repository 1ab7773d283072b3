"""`studio models`: the local models the studio can train (samples, HF cache, added folders) with
their facts, as the Models page shows them; --add/--remove edit the remembered folders."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    """Add this module's subcommands."""
    m = sub.add_parser("models", help="list local models (samples, HF cache, added folders) and their facts")
    m.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    m.add_argument("--add", metavar="DIR", action="append", default=[],
                   help="remember a folder of models (a model folder, .gguf files, or model folders inside)")
    m.add_argument("--remove", metavar="DIR", action="append", default=[], help="forget a remembered folder")
    m.set_defaults(run=run_models)


def run_models(args, home, db) -> int:
    from studio.modelinfo.scan import local_models
    from studio.store import model_folders

    for folder in args.add:
        if not Path(folder).exists():
            raise ValueError(f"--add {folder}: no such folder or file")
        model_folders.add_folder(db, folder)
    for folder in args.remove:
        if not model_folders.remove_folder(db, folder):
            raise ValueError(f"--remove {folder}: not a remembered folder")
    entries = local_models(model_folders.list_folders(db))
    if args.json:
        print(json.dumps([e.to_dict() for e in entries]))
        return 0
    print(f"{'NAME':<32} {'SOURCE':<7} {'ARCHITECTURE':<30} {'PARAMS':>13} {'DTYPE':<6} {'LAYERS':>6} "
          f"{'HIDDEN':>6} {'VOCAB':>7} {'SIZE':>9}")
    for e in entries:
        f = e.facts
        if f.problem and not f.params:
            print(f"{e.name[:32]:<32} {e.source:<7} problem: {f.problem}")
            continue
        size = f"{f.size_bytes / 1e6:,.1f} MB" if f.size_bytes is not None else "?"
        print(f"{e.name[:32]:<32} {e.source:<7} {str(f.architecture or '?')[:30]:<30} "
              f"{f'{f.params:,}' if f.params else '?':>13} {str(f.dtype or '?'):<6} {f.layers or '?':>6} "
              f"{f.hidden_size or '?':>6} {f.vocab_size or '?':>7} {size:>9}")
    return 0
