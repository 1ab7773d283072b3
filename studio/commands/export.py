"""`studio export` (merged model or adapter alone) and `studio merge` (combine LoRA adapters)."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    e = sub.add_parser("export", help="export an adapter: merged into its base, or the adapter alone",
                       description="Exports arrive atomically (temp folder, then rename) with a README "
                       "model card and MANIFEST.sha256.")
    e.add_argument("adapter", help="library adapter name (or an adapter folder)")
    where = e.add_mutually_exclusive_group(required=True)
    where.add_argument("--merged", metavar="OUT", help="write a plain transformers model (the adapter "
                       "merged into the base) to the new folder OUT")
    where.add_argument("--adapter-only", metavar="OUT", help="copy the adapter alone (any method) to the "
                       "new folder OUT")
    e.add_argument("--dtype", default="bf16", choices=("bf16", "fp16", "fp32"),
                   help="dtype of the merged weights (default bf16)")
    e.add_argument("--max-shard-size", default="2GB",
                   help="largest weights file; bigger models are sharded (default 2GB)")
    e.add_argument("--base", metavar="MODEL", help="the base model's folder, when the adapter's record is stale")
    e.add_argument("--json", action="store_true", help="progress as JSON lines on stderr; the result as "
                   "JSON on stdout")
    e.set_defaults(run=run_export)

    m = sub.add_parser("merge", help="combine two or more LoRA adapters of one base into a new adapter",
                       description="Combines LoRA adapters with PEFT's add_weighted_adapter.")
    m.add_argument("adapters", nargs="+", metavar="ADAPTER", help="library adapter names (or folders)")
    m.add_argument("--weights", nargs="+", type=float, required=True, help="one weight per adapter")
    m.add_argument("--method", default="linear", help="combination: linear, ties, dare_linear, dare_ties, "
                   "magnitude_prune, cat, svd (and the *_svd variants); default linear")
    m.add_argument("--density", type=float, help="fraction of values kept by ties/dare/magnitude_prune "
                   "(default 0.5)")
    target = m.add_mutually_exclusive_group(required=True)
    target.add_argument("--name", help="save the result in the library under this name")
    target.add_argument("--out", help="write the result to this new folder only (a preview)")
    m.add_argument("--base", metavar="MODEL", help="the base model's folder, when the adapters' record is stale")
    m.add_argument("--json", action="store_true", help="progress as JSON lines on stderr; the result as JSON")
    m.set_defaults(run=run_merge)


def _progress(as_json: bool):
    """A progress callback printing to stderr: JSON lines for the GUI, or '[ 45%] merging'."""
    def report(stage: str, fraction: float) -> None:
        if as_json:
            print(json.dumps({"stage": stage, "fraction": round(fraction, 3)}), file=sys.stderr, flush=True)
        else:
            print(f"[{fraction * 100:3.0f}%] {stage}", file=sys.stderr, flush=True)
    return report


def run_export(args, home, db) -> int:
    from studio.library import export, library

    folder = library.resolve(db, args.adapter)
    report = _progress(args.json)
    if args.merged:
        out = export.export_merged(folder, args.merged, dtype=args.dtype, max_shard_size=_shard(args.max_shard_size),
                                   base=args.base, progress=report)
    else:
        out = export.export_adapter_only(folder, args.adapter_only, progress=report)
    files = sorted(p.name for p in out.iterdir())
    if args.json:
        print(json.dumps({"path": str(out.resolve()), "merged": bool(args.merged), "files": files}))
    else:
        print(f"exported {args.adapter} to {out} ({len(files)} files)")
    return 0


def _shard(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def run_merge(args, home, db) -> int:
    from studio.library import library, merge

    folders = [library.resolve(db, a) for a in args.adapters]
    report = _progress(args.json)
    kwargs = dict(combination=args.method, density=args.density, base=args.base, progress=report)
    if args.name:
        row = merge.merge_into_library(db, home, folders, args.weights, args.name, **kwargs)
        result = {"name": row["name"], "path": row["path"]}
    else:
        result = {"name": None, "path": str(merge.merge_to_folder(folders, args.weights, args.out, **kwargs))}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"combined {', '.join(args.adapters)} ({args.method}) into {result['name'] or result['path']}")
    return 0
