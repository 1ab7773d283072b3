"""The `studio` subcommands, one module per area; each module's register(sub) adds its parsers and
sets `run` (the handler: run(args, home, db) -> exit code) and `needs_db` (default True)."""
from studio.commands import (adapters, chat, cluster, compare, data, export, gui, lr_find, methods, models, runs,
                             worker)

MODULES = [gui, runs, lr_find, methods, adapters, data, models, export, compare, chat, cluster, worker]
