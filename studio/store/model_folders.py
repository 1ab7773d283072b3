"""Folders the user added to the model browser, remembered across sessions."""
from __future__ import annotations

from pathlib import Path

import sqlite_utils

from studio.store.db import now, transaction


def _key(path: str | Path) -> str:
    """One spelling per folder: absolute, user-expanded, without a trailing slash."""
    return str(Path(path).expanduser().absolute())


def add_folder(db: sqlite_utils.Database, path: str | Path) -> bool:
    """Remember a folder; False if it was already there."""
    with transaction(db):
        cursor = db.execute("INSERT OR IGNORE INTO model_folders (path, added_at) VALUES (?, ?)",
                            [_key(path), now()])
    return cursor.rowcount == 1


def remove_folder(db: sqlite_utils.Database, path: str | Path) -> bool:
    """Forget a folder (its files stay untouched); False if it was not there."""
    with transaction(db):
        cursor = db.execute("DELETE FROM model_folders WHERE path = ?", [_key(path)])
    return cursor.rowcount == 1


def list_folders(db: sqlite_utils.Database) -> list[Path]:
    """The remembered folders, in the order they were added."""
    return [Path(row["path"]) for row in db.query("SELECT path FROM model_folders ORDER BY added_at, path")]
