"""Saved adapters: the library of trained results, by unique name."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils

from studio.store.db import now, transaction


class AdapterNotFound(LookupError):
    """No adapter with the given name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no adapter named {name!r}")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    """Turn the JSON columns of an adapters row back into Python objects."""
    row["metrics"] = json.loads(row["metrics"]) if row["metrics"] else {}
    row["tags"] = json.loads(row["tags"]) if row["tags"] else []
    row["settings"] = json.loads(row["settings"]) if row.get("settings") else {}
    return row


def register_adapter(
    db: sqlite_utils.Database,
    *,
    name: str,
    path: str | Path,
    run_id: int | None = None,
    method: str | None = None,
    base_model: str | None = None,
    task: str | None = None,
    trainable_params: int | None = None,
    total_params: int | None = None,
    size_bytes: int | None = None,
    metrics: dict[str, Any] | None = None,
    notes: str | None = None,
    tags: list[str] | None = None,
    created_at: float | None = None,
    source: str | None = None,
    dataset: str | None = None,
    settings: dict[str, Any] | None = None,
    imported_at: float | None = None,
) -> int:
    """Record a saved adapter and return its id; ValueError if the name is taken."""
    row = {
        "name": name,
        "path": str(path),
        "run_id": run_id,
        "method": method,
        "base_model": base_model,
        "task": task,
        "trainable_params": trainable_params,
        "total_params": total_params,
        "size_bytes": size_bytes,
        "metrics": json.dumps(metrics or {}),
        "created_at": now() if created_at is None else created_at,
        "notes": notes,
        "tags": json.dumps(list(tags or [])),
        "source": source or ("trained" if run_id is not None else None),
        "dataset": dataset,
        "settings": json.dumps(settings) if settings else None,
        "imported_at": imported_at,
    }
    with transaction(db):
        # Checked under the write lock, so the message names the adapter instead
        # of surfacing a bare "UNIQUE constraint failed" IntegrityError.
        if _exists(db, name):
            raise ValueError(f"an adapter named {name!r} already exists")
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = db.execute(f"INSERT INTO adapters ({columns}) VALUES ({marks})", list(row.values()))
    return int(cursor.lastrowid)


def _exists(db: sqlite_utils.Database, name: str) -> bool:
    """Whether an adapter with this exact name is registered."""
    return bool(list(db.query("SELECT 1 FROM adapters WHERE name = ?", [name])))


def get_adapter(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    """One adapter by name (metrics and tags decoded), or raise AdapterNotFound."""
    rows = list(db.query("SELECT * FROM adapters WHERE name = ?", [name]))
    if not rows:
        raise AdapterNotFound(name)
    return _decode(rows[0])


def list_adapters(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """All adapters, newest first."""
    return [
        _decode(row)
        for row in db.query("SELECT * FROM adapters ORDER BY created_at DESC, id DESC")
    ]


def unique_adapter_name(db: sqlite_utils.Database, wanted: str) -> str:
    """wanted if free, else the first free of wanted-2, wanted-3, ..."""
    if not _exists(db, wanted):
        return wanted
    suffix = 2
    while _exists(db, f"{wanted}-{suffix}"):
        suffix += 1
    return f"{wanted}-{suffix}"


# Columns update_adapter may change; name and path change together through rename_adapter.
EDITABLE = ("notes", "tags", "metrics", "settings", "dataset", "source", "size_bytes")


def update_adapter(db: sqlite_utils.Database, name: str, **fields: Any) -> None:
    """Change editable columns of one adapter (notes, tags, ...); AdapterNotFound if absent."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValueError(f"adapter columns that cannot be edited: {', '.join(unknown)}")
    values = {k: json.dumps(v) if k in ("tags", "metrics", "settings") and v is not None else v
              for k, v in fields.items()}
    with transaction(db):
        if not _exists(db, name):
            raise AdapterNotFound(name)
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE adapters SET {sets} WHERE name = ?", [*values.values(), name])


def rename_adapter(db: sqlite_utils.Database, old: str, new: str, path: str | Path) -> None:
    """Give an adapter a new name and folder path; ValueError if the new name is taken."""
    with transaction(db):
        if not _exists(db, old):
            raise AdapterNotFound(old)
        if _exists(db, new):
            raise ValueError(f"an adapter named {new!r} already exists")
        db.execute("UPDATE adapters SET name = ?, path = ? WHERE name = ?", [new, str(path), old])
        db.execute("UPDATE exports SET adapter = ? WHERE adapter = ?", [new, old])  # exports follow the name


def delete_adapter(db: sqlite_utils.Database, name: str) -> None:
    """Remove one adapter's row (its files are the library's business); AdapterNotFound if absent."""
    with transaction(db):
        if not _exists(db, name):
            raise AdapterNotFound(name)
        db.execute("DELETE FROM adapters WHERE name = ?", [name])
