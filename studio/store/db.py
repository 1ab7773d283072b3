"""Opening the studio database: connection settings, timestamps and write transactions."""
from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from studio.store.sqlite_utils_import import import_sqlite_utils

sqlite_utils = import_sqlite_utils()  # before any other store module imports it (they import this one first)

from studio.store.migrations import MIGRATIONS  # noqa: E402

# Seconds a connection waits for another process's write lock before giving up.
# The worker commits small batches many times a second while the GUI polls and
# sends commands, so waits are short but must never surface as "database is locked".
BUSY_TIMEOUT_S = 30


def now() -> float:
    """Current unix time in seconds; every timestamp column uses this."""
    return time.time()


def _connect(path: str | Path | None) -> sqlite3.Connection:
    """Open a raw connection with the pragmas every studio connection needs."""
    in_memory = path is None or str(path) == ":memory:"
    if in_memory:
        target = ":memory:"
    else:
        target = str(path)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread stays at its default (True): each process and each thread
    # opens its own connection, and sharing one by accident should fail loudly
    # rather than interleave two threads' transactions on one connection.
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S)
    # busy_timeout first, so that even switching to WAL waits for other openers.
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    if not in_memory:
        # WAL: readers (GUI, CLI) never block the writer (worker) and vice versa.
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across app crashes in WAL mode; only an OS crash can
        # lose the last commits, which is fine for metrics and heartbeats.
        conn.execute("PRAGMA synchronous=NORMAL")
    # Per-connection and off by default in SQLite; needed for ON DELETE CASCADE.
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def open_db(path: str | Path | None) -> sqlite_utils.Database:
    """Open (creating if needed) the studio database at path, or in memory for None/":memory:"."""
    # execute_plugins=False: the studio uses no sqlite-utils plugins, and a
    # stray installed one should not hook into our connections.
    db = sqlite_utils.Database(_connect(path), execute_plugins=False)
    _migrate(db)
    return db


def _migrate(db: sqlite_utils.Database) -> None:
    """Apply pending schema migrations, safely against other processes opening the same file."""
    # Cheap read-only check first, so the common case takes no write lock.
    if not MIGRATIONS.pending(db):
        return
    # The GUI and a worker may open a fresh file at the same moment. Holding the
    # write lock across the whole apply makes the loser wait, then re-check the
    # pending list inside its own transaction and find nothing left to do.
    with transaction(db):
        MIGRATIONS.apply(db)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block atomically: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
    if db.conn.in_transaction:
        # Nested: sqlite-utils' atomic() uses a savepoint inside the open transaction.
        with db.atomic():
            yield db
        return
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads
    # first and writes later can fail with SQLITE_BUSY at the write without the
    # busy timeout being honoured (its read snapshot went stale under WAL).
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        # rollback() is a no-op if the error already ended the transaction.
        db.rollback()
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
