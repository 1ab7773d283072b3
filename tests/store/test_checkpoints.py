"""Checkpoints: upsert per step, ordering, removal."""
from __future__ import annotations

from pathlib import Path

from studio.store.checkpoints import add_checkpoint, list_checkpoints, remove_checkpoint


def test_add_list_remove(db, run_id):
    add_checkpoint(db, run_id, 200, "/ckpt/200")
    first = add_checkpoint(db, run_id, 100, Path("/ckpt/100"))
    assert [(c["step"], c["path"]) for c in list_checkpoints(db, run_id)] == [
        (100, "/ckpt/100"), (200, "/ckpt/200")]
    # Same step again: replaced, not duplicated, same id.
    assert add_checkpoint(db, run_id, 100, "/ckpt/100-b") == first
    assert [(c["step"], c["path"]) for c in list_checkpoints(db, run_id)] == [
        (100, "/ckpt/100-b"), (200, "/ckpt/200")]
    assert remove_checkpoint(db, run_id, 100) is True
    assert remove_checkpoint(db, run_id, 100) is False
    assert [c["step"] for c in list_checkpoints(db, run_id)] == [200]
    assert list_checkpoints(db, run_id + 1) == []
