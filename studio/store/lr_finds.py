"""Learning-rate range test results (`studio lr-find`), newest per config hash for the wizard."""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from studio.store.db import now, transaction


def add_lr_find(db: sqlite_utils.Database, config_hash: str, result: dict[str, Any], *, model: str | None = None,
                method: str | None = None) -> int:
    """Store one range test's result (the JSON `studio lr-find --json` prints) and return its id."""
    row = {"config_hash": config_hash, "created_at": now(), "model": model, "method": method,
           "suggested": result.get("suggested"), "result": json.dumps(result)}
    with transaction(db):
        cursor = db.execute(f"INSERT INTO lr_finds ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                            list(row.values()))
    return int(cursor.lastrowid)


def latest_lr_find(db: sqlite_utils.Database, config_hash: str) -> dict[str, Any] | None:
    """The newest stored result for this config hash (its JSON decoded into "result"), or None."""
    rows = list(db.query("SELECT * FROM lr_finds WHERE config_hash = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                         [config_hash]))
    if not rows:
        return None
    row = rows[0]
    row["result"] = json.loads(row["result"] or "{}")
    return row
