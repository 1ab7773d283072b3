"""open_db, pragmas, migrations and transactions."""
from __future__ import annotations

import sqlite3
import time

import pytest

from studio.store import open_db
from studio.store.db import now, transaction
from studio.store.migrations import MIGRATIONS
from studio.store.runs import create_run, delete_run, get_run


def test_memory_db_has_schema():
    db = open_db(None)
    assert {"runs", "metrics", "checkpoints", "adapters", "commands"} <= set(db.table_names())
    assert open_db(":memory:").table_names() == db.table_names()


def test_file_db_pragmas_and_parent_dir(tmp_path):
    path = tmp_path / "nested" / "dir" / "studio.db"
    db = open_db(path)
    assert path.exists()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    open_db(str(path))  # str paths work too


def test_migrations_idempotent(tmp_path):
    path = tmp_path / "studio.db"
    open_db(path).close()
    db = open_db(path)
    rows = list(db.query("SELECT migration_set, name FROM _sqlite_migrations"))
    assert rows == [{"migration_set": "studio", "name": m.name} for m in MIGRATIONS._migrations]
    assert len(rows) == len({r["name"] for r in rows}) >= 1
    assert MIGRATIONS.pending(db) == []


def test_data_survives_reopen(tmp_path):
    path = tmp_path / "studio.db"
    db = open_db(path)
    run_id = create_run(db, name="r", config={}, model="m", method="lora", task="t", max_steps=1)
    db.close()
    assert get_run(open_db(path), run_id)["name"] == "r"


def test_now_is_unix_time():
    assert abs(now() - time.time()) < 1


def test_transaction_commits_and_rolls_back(db):
    with transaction(db):
        create_run(db, name="kept", config={}, model="m", method="lora", task="t", max_steps=1)
    with pytest.raises(RuntimeError):
        with transaction(db):
            create_run(db, name="lost", config={}, model="m", method="lora", task="t", max_steps=1)
            raise RuntimeError("boom")
    names = [r["name"] for r in db.query("SELECT name FROM runs")]
    assert names == ["kept"]
    assert not db.conn.in_transaction


def test_transaction_nested_rolls_back_inner_only(db):
    with transaction(db):
        create_run(db, name="outer", config={}, model="m", method="lora", task="t", max_steps=1)
        with pytest.raises(RuntimeError):
            with transaction(db):
                create_run(db, name="inner", config={}, model="m", method="lora", task="t", max_steps=1)
                raise RuntimeError("boom")
    assert [r["name"] for r in db.query("SELECT name FROM runs")] == ["outer"]


def test_transaction_takes_write_lock_immediately(tmp_path):
    path = tmp_path / "studio.db"
    a, b = open_db(path), open_db(path)
    b.execute("PRAGMA busy_timeout=0")
    with transaction(a):
        # b cannot even begin a write transaction while a holds one...
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            b.conn.execute("BEGIN IMMEDIATE")
        # ...but it can still read (WAL).
        assert list(b.query("SELECT COUNT(*) AS n FROM runs")) == [{"n": 0}]


def test_delete_run_cascades(db, run_id):
    from studio.store.adapters import get_adapter, register_adapter
    from studio.store.checkpoints import add_checkpoint
    from studio.store.commands import send_command
    from studio.store.metrics import add_metrics

    add_metrics(db, run_id, [(1, "loss", 1.0, 0.0)])
    add_checkpoint(db, run_id, 1, "/ckpt/1")
    send_command(db, run_id, "stop")
    register_adapter(db, name="a", path="/a", run_id=run_id)
    delete_run(db, run_id)
    for table in ("metrics", "checkpoints", "commands"):
        assert db[table].count == 0, table
    assert get_adapter(db, "a")["run_id"] is None  # ON DELETE SET NULL


def test_raw_delete_cascades(db, run_id):
    from studio.store.metrics import add_metrics

    add_metrics(db, run_id, [(1, "loss", 1.0, 0.0)])
    db.execute("DELETE FROM runs WHERE id = ?", [run_id])
    assert db["metrics"].count == 0
