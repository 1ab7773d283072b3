"""SQLite store: the single source of truth and the bus between the training worker and the GUI/CLI.

Import the table modules directly (studio.store.runs, .metrics, .checkpoints,
.adapters, .commands); every function takes the Database returned by open_db.
"""
from studio.store.db import open_db

__all__ = ["open_db"]
