"""Stored range tests: the newest result per config hash comes back whole; other hashes stay apart."""
from __future__ import annotations

from studio.store.lr_finds import add_lr_find, latest_lr_find


def test_newest_result_for_a_hash(db):
    assert latest_lr_find(db, "abc") is None
    add_lr_find(db, "abc", {"suggested": 1e-3, "lrs": [1e-7, 1.0], "losses": [2.0, 9.0]}, model="m", method="lora")
    newer = add_lr_find(db, "abc", {"suggested": 2e-3, "lrs": [1e-7], "losses": [2.0]}, model="m", method="lora")
    add_lr_find(db, "other", {"suggested": None}, model="m", method="full")
    row = latest_lr_find(db, "abc")
    assert row["id"] == newer and row["suggested"] == 2e-3 and row["method"] == "lora"
    assert row["result"] == {"suggested": 2e-3, "lrs": [1e-7], "losses": [2.0]}
    assert latest_lr_find(db, "other")["suggested"] is None
