"""The `studio` subcommands, one module per area; each module's register(sub) adds its parsers and
sets `run` (the handler: run(args, home, db) -> exit code) and `needs_db` (default True)."""
from studio.commands import adapters, gui, methods, runs

MODULES = [gui, runs, methods, adapters]
