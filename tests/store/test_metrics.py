"""Metrics: batched inserts, incremental polling, last values, resume truncation."""
from __future__ import annotations

import sqlite3

import pytest

from studio.store.metrics import add_metrics, delete_after_step, get_metrics, last_values, metric_names


def test_add_and_get(db, run_id):
    add_metrics(db, run_id, [(1, "loss", 2.0, 10.0), (1, "lr", 1e-4, 10.0), (2, "loss", 1.5, 11.0)])
    add_metrics(db, run_id, [])
    rows = get_metrics(db, run_id)
    assert [(r["step"], r["name"], r["value"], r["wall_time"]) for r in rows] == [
        (1, "loss", 2.0, 10.0), (1, "lr", 1e-4, 10.0), (2, "loss", 1.5, 11.0)]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert [r["value"] for r in get_metrics(db, run_id, name="loss")] == [2.0, 1.5]
    assert get_metrics(db, run_id + 1) == []


def test_incremental_polling(db, run_id):
    add_metrics(db, run_id, [(1, "loss", 2.0, 0.0)])
    seen = get_metrics(db, run_id)
    add_metrics(db, run_id, [(2, "loss", 1.0, 0.0), (2, "acc", 0.5, 0.0)])
    new = get_metrics(db, run_id, after_id=seen[-1]["id"])
    assert [(r["step"], r["name"]) for r in new] == [(2, "loss"), (2, "acc")]
    assert get_metrics(db, run_id, name="acc", after_id=seen[-1]["id"])[0]["value"] == 0.5
    assert get_metrics(db, run_id, after_id=new[-1]["id"]) == []


def test_batch_is_atomic(db, run_id):
    with pytest.raises(sqlite3.IntegrityError):
        add_metrics(db, run_id, [(1, "loss", 1.0, 0.0), (1, None, 2.0, 0.0)])  # name NOT NULL
    assert get_metrics(db, run_id) == []


def test_unknown_run_refused(db):
    with pytest.raises(sqlite3.IntegrityError):
        add_metrics(db, 999, [(1, "loss", 1.0, 0.0)])


def test_metric_names_and_last_values(db, run_id):
    assert metric_names(db, run_id) == [] and last_values(db, run_id) == {}
    add_metrics(db, run_id, [(5, "loss", 1.0, 0.0), (3, "loss", 9.0, 0.0), (4, "eval_loss", 2.0, 0.0)])
    add_metrics(db, run_id, [(4, "eval_loss", 1.8, 0.0)])  # same step logged again: one row, the first
    assert metric_names(db, run_id) == ["eval_loss", "loss"]
    assert last_values(db, run_id) == {"loss": 1.0, "eval_loss": 2.0}


def test_delete_after_step_and_ids_not_reused(db, run_id):
    add_metrics(db, run_id, [(s, "loss", float(s), 0.0) for s in range(1, 11)])
    last_id = get_metrics(db, run_id)[-1]["id"]
    assert delete_after_step(db, run_id, 5) == 5
    assert [r["step"] for r in get_metrics(db, run_id)] == [1, 2, 3, 4, 5]
    add_metrics(db, run_id, [(6, "loss", 6.0, 0.0)])
    # A poller that had seen up to last_id still gets the resumed rows.
    assert [r["step"] for r in get_metrics(db, run_id, after_id=last_id)] == [6]


def test_one_row_per_name_and_step(db, run_id):
    # The Trainer logs 'epoch' with the loss and again with the eval at the same step.
    add_metrics(db, run_id, [(5, "train_loss", 1.0, 1.0), (5, "epoch", 0.25, 1.0)])
    add_metrics(db, run_id, [(5, "eval_loss", 1.2, 2.0), (5, "epoch", 0.25, 2.0)])
    rows = get_metrics(db, run_id)
    assert sorted((r["name"], r["step"]) for r in rows) == [("epoch", 5), ("eval_loss", 5), ("train_loss", 5)]
    assert next(r for r in rows if r["name"] == "epoch")["wall_time"] == 1.0  # the first one is kept


def test_the_migration_drops_duplicates_and_keeps_the_first(tmp_path):
    from studio.store import open_db
    from studio.store.runs import create_run

    path = tmp_path / "old.db"
    db = open_db(path)
    run = create_run(db, name="r", config={}, model="m", method="lora", task="causal-lm", max_steps=9)
    # A store as m008 left it: no unique index, 'epoch' twice at the eval step.
    db.execute("DROP INDEX idx_metrics_run_name_step_unique")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_metric_row_per_step'")
    db.conn.executemany("INSERT INTO metrics (run_id, step, name, value, wall_time) VALUES (?, ?, ?, ?, ?)",
                        [(run, 5, "epoch", 0.25, 1.0), (run, 5, "epoch", 0.25, 2.0), (run, 5, "train_loss", 1.0, 1.0)])
    db.conn.commit()
    db.close()
    db = open_db(path)
    assert [(r["name"], r["wall_time"]) for r in get_metrics(db, run)] == [("epoch", 1.0), ("train_loss", 1.0)]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO metrics (run_id, step, name, value) VALUES (?, 5, 'epoch', 1.0)", [run])
