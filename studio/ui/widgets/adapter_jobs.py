"""Library work for pool threads: each opens its own database connection (SQLite connections stay in
the thread that made them) and returns plain values for the GUI thread."""
from __future__ import annotations

from typing import Any, Callable

from studio.library import library
from studio.paths import Home
from studio.store import open_db


def db_file(db: Any) -> str | None:
    """The file behind a connection (pool threads open their own), or None for an in-memory store."""
    if db is None:
        return None
    rows = db.execute("PRAGMA database_list").fetchall()
    return next((file for _, name, file in rows if name == "main" and file), None)


def import_job(conn: Any, home: Home, folder: str, base: str | None) -> dict[str, Any]:
    """Import one folder: {"row": the new row}, or {"refused": why} / {"base_missing": why}."""
    try:
        return {"row": library.import_adapter(conn, home, folder, base=base)}
    except library.ImportRefused as e:
        return {"refused": str(e)}
    except LookupError as e:  # the base named by the adapter is neither a folder nor in the HF cache
        return {"base_missing": str(e)}


def remove_job(conn: Any, home: Home, names: list[str]) -> list[str]:
    """Delete adapters (rows and folders together); returns their names."""
    for name in names:
        library.remove_adapter(conn, home, name)
    return names


def with_own_db(path: str | None, db: Any, fn: Callable[[Any], Any]) -> Any:
    """fn(a connection of this thread's own to the file at path); the shared `db` when there is no file."""
    conn = open_db(path) if path else db
    try:
        return fn(conn)
    finally:
        if path:
            conn.conn.close()
