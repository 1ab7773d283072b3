"""Where a store connection lives on disk, and a run's worker log."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.paths import Home


def db_file(db: Any) -> str | None:
    """The file behind a store connection (None in memory): other threads open their own to it."""
    for _seq, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return path
    return None


def home_of(db: Any) -> Home | None:
    """The data home whose studio.db this connection has open (None for any other store)."""
    path = db_file(db)
    if path is None:
        return None
    home = Home(Path(path).parent)
    return home if home.db_path == Path(path) else None


def log_tail(home: Home, run_id: int, lines: int = 20) -> str:
    """The last lines of a run's worker log."""
    path = Path(home.run_dir(run_id)) / "worker.log"
    if not path.is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64 * 1024))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])
