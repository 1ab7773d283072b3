"""`studio compare`: adapters of one base side by side — generate a grid, evaluate, rate, export."""
from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

SAME = "(= base)"


def register(sub) -> None:
    """Add this module's subcommands."""
    c = sub.add_parser(
        "compare", help="compare adapters of one base side by side (grid of outputs, metrics, ratings)",
        description="New comparison: --base M --adapter A [--adapter B ...] --prompts FILE [--eval FILE]. "
                    "The base loads once; adapters are hot-swapped. Saved comparisons: --list, --show ID, "
                    "--export ID --format csv|md [OUT], --rate ID ROW COLUMN RATING, --delete ID, "
                    "--export-preferences FILE [--comparison ID].")
    c.add_argument("--base", metavar="MODEL", help="base model: folder, .gguf, sample:NAME or hub id")
    c.add_argument("--adapter", action="append", default=[], metavar="A",
                   help="adapter name in the library (studio adapters) or adapter folder; repeat for more")
    c.add_argument("--no-base", action="store_true", help="leave out the base-only column")
    c.add_argument("--prompts", metavar="FILE", help="one prompt per line, or .jsonl with a \"prompt\" field")
    c.add_argument("--eval", metavar="FILE", help="labelled (classification) or held-out (causal-lm) data file: "
                                                  "accuracy / macro-F1, or eval loss / perplexity per column")
    c.add_argument("--max-new-tokens", type=int, default=40, metavar="N", help="tokens generated per cell")
    c.add_argument("--seed", type=int, default=0, help="seed set before every cell")
    c.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    c.add_argument("--temperature", type=float, default=1.0, metavar="T", help="with --sample")
    c.add_argument("--top-p", type=float, default=1.0, metavar="P", help="with --sample")
    c.add_argument("--raw", action="store_true", help="send prompts as typed (default: rendered as training "
                                                      "renders an instruction: chat template or Alpaca prompt)")
    c.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the base runs")
    c.add_argument("--name", help="name of the saved comparison")
    c.add_argument("--json", action="store_true", help="print JSON only")
    saved = c.add_mutually_exclusive_group()
    saved.add_argument("--list", action="store_true", help="list saved comparisons")
    saved.add_argument("--show", type=int, metavar="ID", help="print a saved comparison")
    saved.add_argument("--export", type=int, metavar="ID", help="write a saved comparison as CSV or Markdown")
    saved.add_argument("--rate", nargs=4, metavar=("ID", "ROW", "COLUMN", "RATING"),
                       help="rate one cell 1-5 (ROW as printed, from 1; COLUMN by name; RATING none clears)")
    saved.add_argument("--delete", type=int, metavar="ID", help="delete a saved comparison")
    saved.add_argument("--export-preferences", metavar="FILE",
                       help="write a saved comparison's ratings as preference pairs (JSONL prompt / chosen / "
                            "rejected, the higher-rated output chosen; equal ratings skipped) for task preference")
    c.add_argument("--comparison", type=int, metavar="ID",
                   help="with --export-preferences: the comparison (default: the newest)")
    c.add_argument("--format", choices=("csv", "md"), help="with --export (default: from OUT's suffix, else csv)")
    c.add_argument("out", nargs="?", metavar="OUT", help="with --export: output file (default: stdout)")
    c.set_defaults(run=run_compare)


def run_compare(args, home, db) -> int:
    from studio.store import comparisons as store

    if args.out and args.export is None:
        raise ValueError(f"compare: unexpected argument {args.out!r} (OUT goes with --export ID)")
    if args.list:
        rows = store.list_comparisons(db)
        if args.json:
            print(json.dumps(rows, default=str))
        elif not rows:
            print("no comparisons yet: studio compare --base M --adapter A --prompts FILE")
        for r in [] if args.json else rows:
            print(f"{r['id']:>4}  {str(r['name'] or '')[:30]:<30} {r['n_prompts']:>3} prompts  "
                  f"{', '.join(r['adapters'])}  (base {r['base_model']})")
        return 0
    if args.show is not None:
        c = store.get_comparison(db, args.show)
        print(json.dumps(c, default=str) if args.json else render_text(c))
        return 0
    if args.export is not None:
        c = store.get_comparison(db, args.export)
        fmt = args.format or ("md" if args.out and Path(args.out).suffix.lower() in (".md", ".markdown") else "csv")
        text = store.to_markdown(c) if fmt == "md" else store.to_csv(c)
        if args.out and args.out != "-":
            Path(args.out).write_text(text, encoding="utf-8")
            print(f"wrote {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if args.rate:
        return _rate(args, db, store)
    if args.export_preferences:
        return _export_preferences(args, db, store)
    if args.delete is not None:
        store.delete_comparison(db, args.delete)
        return 0
    return run_new(args, home, db)


def _rate(args, db, store) -> int:
    cid, row, column, value = args.rate
    try:
        cid, row = int(cid), int(row)
        rating = None if value.lower() in ("none", "0", "-", "clear") else int(value)
    except ValueError:
        raise ValueError(f"--rate ID ROW COLUMN RATING: ID and ROW are numbers, RATING 1-5 or none; "
                         f"got {' '.join(args.rate)}") from None
    ratings = store.set_rating(db, cid, row - 1, column, rating)
    print(json.dumps(ratings) if args.json else f"comparison {cid}: row {row}, {column}: "
          f"{'cleared' if rating is None else rating}")
    return 0


def _export_preferences(args, db, store) -> int:
    from studio.library.preference_export import export_preferences

    cid = args.comparison
    if cid is None:
        newest = store.list_comparisons(db)
        if not newest:
            raise ValueError("--export-preferences: no saved comparison yet (studio compare --base M ...)")
        cid = newest[0]["id"]
    summary = export_preferences(store.get_comparison(db, cid), args.export_preferences)
    if args.json:
        print(json.dumps({"comparison": cid, "file": args.export_preferences, **summary}))
    else:
        print(f"comparison {cid}: wrote {summary['pairs']} preference pairs to {args.export_preferences} "
              f"({summary['ties']} equal ratings and {summary['identical']} identical outputs skipped)")
    return 0


def read_prompts(path: str) -> list[str]:
    """The --prompts file's prompts (errors name the option, the file and the line)."""
    from studio.core.prompt_file import read_prompts as read

    try:
        return read(path)
    except ValueError as e:
        raise ValueError(f"--prompts {e}") from None


def resolve_adapters(db, refs: list[str]) -> list[tuple[str, str]]:
    """(column name, folder) of each --adapter: a library name first, else a folder."""
    from studio.store.adapters import AdapterNotFound, get_adapter

    out: list[tuple[str, str]] = []
    for ref in refs:
        try:
            row = get_adapter(db, ref)
            name, path = row["name"], row["path"]
        except AdapterNotFound:
            folder = Path(ref).expanduser()
            if not folder.is_dir():
                raise ValueError(f"--adapter {ref!r}: no adapter of that name in the library (see studio "
                                 "adapters) and no such folder") from None
            name, path = folder.name, str(folder.resolve())
        taken = {n for n, _ in out}
        unique, k = name, 2
        while unique in taken or unique == "base":
            unique, k = f"{name}-{k}", k + 1
        out.append((unique, path))
    return out


def check_adapters(base: str, base_folder: str, infos: list) -> tuple[str, list[str] | None, dict]:
    """The comparison's task, labels and base load kwargs; ValueError naming every misfit adapter."""
    from studio import methods
    from studio.core.compare import base_mismatch
    from studio.core.models import method_load_kwargs

    problems = [m for m in (base_mismatch(base, base_folder, i) for i in infos) if m]
    tasks = {i.task for i in infos}
    if len(tasks) > 1:
        problems.append("adapters of different tasks: " + ", ".join(f"{i.name} ({i.task})" for i in infos))
    task = tasks.pop() if len(tasks) == 1 else "causal-lm"
    label_sets = {tuple(i.labels or ()) for i in infos}
    if task == "classification" and len(label_sets) > 1:
        problems.append("classifiers with different labels: " + "; ".join(f"{i.name}: {i.labels}" for i in infos))
    quantized = {(i.method, json.dumps(i.options, sort_keys=True)) for i in infos
                 if i.method in methods.names() and methods.get(i.method).load_kwargs}
    if quantized and (len(quantized) > 1 or len(quantized) < len(infos)):
        problems.append("qlora adapters need their own quantized base: compare them apart from the others")
    if problems:
        raise ValueError("cannot compare:\n  " + "\n  ".join(problems))
    kwargs = {}
    if quantized:
        method, options = next(iter(quantized))
        kwargs = method_load_kwargs(method, json.loads(options), "cuda")
    return task, (list(infos[0].labels) if task == "classification" and infos else None), kwargs


def run_new(args, home, db) -> int:
    from dataclasses import asdict

    from studio.core.compare import BASE, Comparer, GenSettings, read_adapter
    from studio.core.models import model_folder
    from studio.store import comparisons as store

    if not args.base:
        raise ValueError("compare: give --base MODEL with --adapter and --prompts (or --list, --show ID, "
                         "--export ID, --rate ...)")
    if not args.prompts and not args.eval:
        raise ValueError("compare: give --prompts FILE and/or --eval FILE")
    if args.no_base and not args.adapter:
        raise ValueError("compare: --no-base needs at least one --adapter")
    prompts = read_prompts(args.prompts) if args.prompts else []
    adapters = resolve_adapters(db, args.adapter)
    infos = [read_adapter(name, path) for name, path in adapters]
    base_folder = model_folder(args.base, home.models_dir)
    task, labels, load_kwargs = check_adapters(args.base, base_folder, infos)
    settings = GenSettings(max_new_tokens=args.max_new_tokens, seed=args.seed, sample=args.sample,
                           temperature=args.temperature, top_p=args.top_p,
                           prompt_format="raw" if args.raw else "instruction")
    columns = ([] if args.no_base else [BASE]) + [name for name, _ in adapters]
    say = (lambda text: print(text, file=sys.stderr)) if not args.json else (lambda text: None)
    say(f"loading {args.base} once; {len(adapters)} adapter(s) swap in")
    comparer = Comparer(args.base, task, labels=labels, models_dir=home.models_dir, load_kwargs=load_kwargs,
                        device=None if args.device == "auto" else args.device)
    try:
        for name, path in adapters:
            comparer.add(name, path)
        rows = comparer.generate_grid(prompts, settings, columns) if prompts else []
        evaluation = comparer.evaluate(args.eval, columns) if args.eval else None
        results = {"rows": rows, "eval": evaluation, "timings": comparer.timings()}
    finally:
        comparer.close()
    name = args.name or f"{Path(args.base).name}: {', '.join(columns)}"
    cid = store.create_comparison(db, name=name, base_model=args.base, task=task, columns=columns,
                                  prompts=prompts, settings=asdict(settings), results=results,
                                  adapter_paths=dict(adapters), eval_file=args.eval)
    c = store.get_comparison(db, cid)
    print(json.dumps(c, default=str) if args.json else render_text(c))
    return 0


def render_text(c: dict) -> str:
    """The comparison as a terminal table: one column per adapter, one row per prompt, then metrics."""
    from studio.store.comparisons import BASE, grid_rows, metric_rows

    cols = c["adapters"]
    timings = c["results"].get("timings") or {}
    out = [f"comparison {c['id']}: {c.get('name') or ''}",
           f"base {c['base_model']} ({c.get('task')}), loaded {timings.get('base_loads', 1)}x in "
           f"{timings.get('base_load_s', 0):.2f} s; columns: {', '.join(cols)}", ""]
    rows = grid_rows(c)
    if rows:
        width = shutil.get_terminal_size((120, 24)).columns
        cell_w = (width - 6) // (len(cols) + 1) - 3
        for i, r in enumerate(rows, 1):
            cells = {col: r["outputs"].get(col, "") for col in cols}
            shown = [SAME if col != BASE and BASE in cells and cells[col] == cells[BASE] else cells[col]
                     for col in cols]
            shown = [t + (f"  ★{r['ratings'][col]}" if col in r["ratings"] else "") for t, col in zip(shown, cols)]
            if cell_w >= 16:
                out += _side_by_side([f"#{i} {r['prompt']}", *shown], ["prompt", *cols] if i == 1 else None,
                                     cell_w)
            else:  # too narrow for columns: one block per prompt
                out.append(f"#{i} {r['prompt']}")
                out += [f"  {col}: {text}" for col, text in zip(cols, shown)]
            out.append("")
    for metric, values in metric_rows(c):
        out.append(f"{metric:<12}" + "  ".join(f"{col}={_num(values[col])}" for col in cols))
    return "\n".join(out).rstrip() + "\n"


def _side_by_side(cells: list[str], header: list[str] | None, w: int) -> list[str]:
    wrapped = [textwrap.wrap(t, w) or [""] for t in cells]
    lines = []
    if header:
        lines.append(" │ ".join(h[:w].ljust(w) for h in header))
        lines.append("─┼─".join("─" * w for _ in header))
    for k in range(max(len(x) for x in wrapped)):
        lines.append(" │ ".join((x[k] if k < len(x) else "").ljust(w) for x in wrapped).rstrip())
    return lines


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
