"""Method tests run tiny models in this process: seeded, and on one thread (tiny matrices only lose
time to thread hand-offs, ten-fold on a busy 2-core machine)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread_seeded):
    """Every test here runs seeded on one thread (tests/conftest.py)."""
    yield
