"""`studio adapters`: the adapter library — list, import, show, rename, tag, remove."""
from __future__ import annotations

import json


def register(sub) -> None:
    """Add this module's subcommands."""
    a = sub.add_parser("adapters", help="the adapter library: list, import, show, rename, tag, rm",
                       description="Without a subcommand: list the library's adapters.")
    a.add_argument("--json", action="store_true", help="print a JSON list, nothing else")
    a.add_argument("--search", metavar="TEXT", help="only adapters whose name, method, base, task, notes, "
                   "tags or data contain TEXT (case-insensitive)")
    a.set_defaults(run=run_list)
    s = a.add_subparsers(dest="adapters_command", title="subcommands", metavar="SUBCOMMAND")

    p = s.add_parser("import", help="validate an adapter folder against its base and add it to the library")
    p.add_argument("path", help="adapter folder: PEFT's adapter_config.json + adapter_model.safetensors, "
                   "or one saved by the studio")
    p.add_argument("--name", help="library name (default: the folder's name, made unique)")
    p.add_argument("--base", metavar="MODEL", help="the base model's folder or hub id, when the adapter's "
                   "own record of it is wrong or missing")
    p.add_argument("--json", action="store_true", help="print the new library row as JSON")
    p.set_defaults(run=run_import)

    p = s.add_parser("show", help="one adapter: its row, files, settings and tensors")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON, nothing else")
    p.set_defaults(run=run_show)

    p = s.add_parser("rm", help="delete an adapter: its library row and its folder together")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    p.set_defaults(run=run_rm)

    p = s.add_parser("rename", help="rename an adapter (its row and its folder)")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(run=run_rename)

    p = s.add_parser("tag", help="add tags to an adapter (or remove them, or set its notes)")
    p.add_argument("name")
    p.add_argument("tags", nargs="*", metavar="TAG")
    p.add_argument("--remove", action="store_true", help="remove the given tags instead of adding them")
    p.add_argument("--notes", metavar="TEXT", help="replace the adapter's notes ('' clears them)")
    p.set_defaults(run=run_tag)


def run_list(args, home, db) -> int:
    from studio.library import library

    rows = library.find(db, search=args.search)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no adapters match" if args.search else
              "no adapters yet: a completed run saves one (or `studio adapters import PATH`)")
        return 0
    print(f"{'NAME':<24} {'METHOD':<9} {'TASK':<14} {'SETTINGS':<22} {'TRAINABLE':>12} {'SIZE':>10}  BASE")
    for a in rows:
        size = f"{(a.get('size_bytes') or 0) / 1e6:.1f} MB"
        print(f"{a['name'][:24]:<24} {str(a['method'])[:9]:<9} {str(a['task']):<14} "
              f"{a['settings_text'][:22]:<22} {a.get('trainable_params') or 0:>12,} {size:>10}  "
              f"{a['base_model']}{'  (folder missing)' if a['missing'] else ''}")
    return 0


def run_import(args, home, db) -> int:
    from studio.library import library

    row = library.import_adapter(db, home, args.path, name=args.name, base=args.base)
    if args.json:
        print(json.dumps(row, default=str))
    else:
        print(f"imported {row['name']} ({row['method']}, {row['task']}) into {row['path']}")
    return 0


def run_show(args, home, db) -> int:
    from pathlib import Path

    from studio.library import library
    from studio.library.inspect import describe
    from studio.store import adapters

    row = library.fill_in(adapters.get_adapter(db, args.name))
    try:
        info = describe(Path(row["path"])).to_dict()
        files = sorted(p.name for p in Path(row["path"]).iterdir())
    except ValueError as e:
        info, files = {"problems": [str(e)]}, []
    from studio.store.exports import list_exports, state

    exports = list_exports(db, row["name"])
    detail = {**row, "files": files, "info": info, "exports": exports}
    if args.json:
        print(json.dumps(detail, default=str))
        return 0
    for key in ("name", "method", "base_model", "task", "settings_text", "trainable_params", "size_bytes",
                "dataset", "metrics", "source", "notes", "tags", "path"):
        print(f"{key:>16}: {row.get(key)}")
    print(f"{'files':>16}: {', '.join(files)}")
    print(f"{'tensors':>16}: {len(info.get('tensors') or {})}")
    for problem in info.get("problems") or []:
        print(f"{'problem':>16}: {problem}")
    for e in exports:  # newest first, each with its verification state
        what = e["format"] + (f" {e['quant']}" if e.get("quant") else "")
        print(f"{'export':>16}: {what} -> {e['path']} [{state(e)}]")
    return 0


def run_rm(args, home, db) -> int:
    from studio.commands.confirm import refused
    from studio.library import library
    from studio.store import adapters

    row = adapters.get_adapter(db, args.name)
    code = refused(args.name, f"Delete adapter {args.name} and its folder {row['path']}?", args.yes)
    if code is not None:
        return code
    library.remove_adapter(db, home, args.name)
    print(f"deleted {args.name}")
    return 0


def run_rename(args, home, db) -> int:
    from studio.library import library

    row = library.rename_adapter(db, home, args.old, args.new)
    print(f"renamed {args.old} to {row['name']} ({row['path']})")
    return 0


def run_tag(args, home, db) -> int:
    from studio.library import library
    from studio.store import adapters

    row = adapters.get_adapter(db, args.name)
    if args.tags:
        tags = [t for t in row["tags"] if t not in args.tags] if args.remove else row["tags"] + args.tags
        library.set_tags(db, args.name, tags)
    if args.notes is not None:
        library.set_notes(db, args.name, args.notes)
    row = adapters.get_adapter(db, args.name)
    print(f"{row['name']}: tags {', '.join(row['tags']) or '(none)'}; notes {row['notes'] or '(none)'}")
    return 0
