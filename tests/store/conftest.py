"""Shared fixtures for the store tests."""
from __future__ import annotations

import pytest
import sqlite_utils

from studio.store import open_db
from studio.store.runs import create_run


@pytest.fixture
def db() -> sqlite_utils.Database:
    """A fresh in-memory studio database."""
    database = open_db(None)
    yield database
    database.close()


@pytest.fixture
def run_id(db: sqlite_utils.Database) -> int:
    """One queued run in the fixture database."""
    return create_run(
        db, name="demo", config={"lr": 1e-4}, model="tiny-gpt2", method="lora",
        task="causal-lm", max_steps=100,
    )
