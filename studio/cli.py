"""The `studio` command: the GUI by default, and a headless CLI over the same engine and store.

Subcommands live in studio/commands/ (one module per area); this file only builds the parser and
dispatches, so `studio --help` always lists exactly what is registered."""
from __future__ import annotations

import argparse
import sys

from studio import __version__
from studio.commands import MODULES
from studio.paths import resolve_home

EPILOG = """\
`studio` alone opens the window (without a display it runs `studio demo` instead).
`studio COMMAND --help` describes one command; --json output is JSON only, for scripts.
data home: --home DIR, else $STUDIO_HOME, else the platform's user data folder.
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    p = argparse.ArgumentParser(prog="studio", description="Fine-tuning Studio: fine-tune Hugging Face "
                                "models with LoRA and friends.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", help="data home folder (default: $STUDIO_HOME or the user data dir)")
    p.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = p.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for module in MODULES:
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the `studio` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "gui"])
    home = resolve_home(args.home)
    db = None
    try:
        if getattr(args, "needs_db", True):
            from studio.store.db import open_db

            home.ensure()
            db = open_db(home.db_path)
        return args.run(args, home, db)
    except (LookupError, ValueError) as e:  # unknown run / adapter, refused request
        print(f"studio: {e.args[0] if isinstance(e, LookupError) and e.args else e}", file=sys.stderr)
        return 2
    finally:
        if db is not None:
            db.conn.close()


if __name__ == "__main__":
    sys.exit(main())
