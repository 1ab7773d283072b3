"""Exports of adapters (merged, adapter-only, GGUF) and whether reloading them reproduced the model."""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from studio.store.db import now


def record_export(db: sqlite_utils.Database, *, adapter: str, format: str, path: str, quant: str | None,
                  size_bytes: int | None, verification: dict[str, Any]) -> dict[str, Any]:
    """Store one export with its verification record; return the row."""
    row = {"adapter": adapter, "format": format, "quant": quant, "path": path, "size_bytes": size_bytes,
           "verified": int(bool(verification.get("verified"))), "agreement": verification.get("agreement"),
           "max_logit_diff": verification.get("max_logit_diff"),
           "tolerance": json.dumps(verification.get("tolerance") or {}), "reason": verification.get("reason"),
           "details": json.dumps(verification, default=str), "created_at": now()}
    table = db["exports"]
    table.insert(row)
    return _decode(dict(table.get(table.last_pk)))


def list_exports(db: sqlite_utils.Database, adapter: str | None = None) -> list[dict[str, Any]]:
    """Exports, newest first; only one adapter's when `adapter` is given."""
    where, args = ("adapter = ?", [adapter]) if adapter else (None, None)
    return [_decode(dict(r)) for r in db["exports"].rows_where(where, args, order_by="created_at desc, id desc")]


def rename_adapter_exports(db: sqlite_utils.Database, old: str, new: str) -> None:
    """Keep an adapter's exports with it when it is renamed."""
    db.execute("UPDATE exports SET adapter = ? WHERE adapter = ?", [new, old])


def state(row: dict[str, Any]) -> str:
    """'verified' or 'unverified: REASON' — how the library shows an export."""
    return "verified" if row.get("verified") else f"unverified: {row.get('reason') or 'not checked'}"


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["verified"] = bool(row["verified"])
    row["tolerance"] = json.loads(row["tolerance"]) if row.get("tolerance") else {}
    row["details"] = json.loads(row["details"]) if row.get("details") else {}
    return row
