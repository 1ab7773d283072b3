"""`studio export` (merged model, adapter alone or GGUF + Ollama Modelfile, each verified by reloading it)
and `studio merge` (combine LoRA adapters)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    """Add this module's subcommands."""
    e = sub.add_parser("export", help="export an adapter: merged into its base, the adapter alone, or GGUF",
                       description="Exports arrive atomically (temp folder, then rename), never overwrite, and "
                       "are verified: what was written is reloaded (transformers, PEFT/the studio, transformers' "
                       "GGUF loader) and its greedy answers compared with the in-memory model; outside the "
                       "format's tolerance the export is kept but marked unverified, with the reason. "
                       "Folders carry a README model card, MANIFEST.sha256 and verification.json.")
    e.add_argument("adapter", help="library adapter name (or an adapter folder)")
    where = e.add_mutually_exclusive_group(required=True)
    where.add_argument("--merged", metavar="OUT", help="write a plain transformers model (the adapter "
                       "merged into the base) to the new folder OUT")
    where.add_argument("--adapter-only", metavar="OUT", help="copy the adapter alone (any method) to the "
                       "new folder OUT")
    where.add_argument("--gguf", metavar="OUT.gguf", help="merge and convert to GGUF with llama.cpp's converter "
                       "(causal-LM, mergeable methods); writes OUT.gguf, OUT.Modelfile (Ollama) and "
                       "OUT.verification.json")
    e.add_argument("--quant", default="q8_0", metavar="TYPE", help="GGUF type: f32, f16, bf16, q8_0 (llama.cpp's "
                   "converter), q5_1, q5_0, q4_1, q4_0 (the gguf package's quantisers); K-quants such as q4_k_m "
                   "need llama.cpp's llama-quantize binary (not on PyPI) and are refused (default q8_0)")
    e.add_argument("--no-verify", action="store_true", help="skip the reload check (the export is recorded unverified)")
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

    from studio.library.gguf_export import export_gguf
    from studio.library.verify import read_record
    from studio.modelinfo.facts import folder_size
    from studio.store.exports import record_export, state

    folder = library.resolve(db, args.adapter)
    report = _progress(args.json)
    common = dict(base=args.base, progress=report, models_dir=home.models_dir, verify=not args.no_verify)
    if args.gguf:
        record = export_gguf(folder, args.gguf, quant=args.quant, **common)
        out, fmt, quant = Path(args.gguf).expanduser().absolute(), "gguf", record["quant"]
        files = [out.name, out.with_suffix(".Modelfile").name, out.with_suffix(".verification.json").name]
        size = out.stat().st_size
    else:
        if args.merged:
            out = export.export_merged(folder, args.merged, dtype=args.dtype,
                                       max_shard_size=_shard(args.max_shard_size), **common)
            fmt, quant = "merged", args.dtype
        else:
            out = export.export_adapter_only(folder, args.adapter_only, **common)
            fmt, quant = "adapter-only", None
        out = out.resolve()
        files, size = sorted(p.name for p in out.iterdir()), folder_size(out)
        record = read_record(out) or {"verified": False, "reason": "verification skipped (--no-verify)"}
    row = record_export(db, adapter=args.adapter, format=fmt, quant=quant, path=str(out), size_bytes=size,
                        verification=record)
    if args.json:
        print(json.dumps({"path": str(out), "format": fmt, "quant": quant, "merged": bool(args.merged),
                          "files": files, "size_bytes": size, "export_id": row["id"],
                          "verification": record}, default=str))
    else:
        print(f"exported {args.adapter} to {out} ({len(files)} files, {size / 1e6:.1f} MB)")
        print(f"check: {state(row)}" + _figures(record))
        for w in record.get("warnings") or []:
            print(f"warning: {w}")
        if fmt == "gguf":
            print(f"run it in Ollama: cd {out.parent} && ollama create NAME -f {files[1]} && ollama run NAME")
    return 0  # an unverified export is still written; the record and the line above say why


def _figures(record: dict) -> str:
    parts = []
    if record.get("agreement") is not None:
        parts.append(f"agreement {record['agreement']:.3f}")
    if record.get("max_logit_diff") is not None:
        parts.append(f"max logit diff {record['max_logit_diff']:.4g}")
    return f" ({', '.join(parts)})" if parts else ""


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
