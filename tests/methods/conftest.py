"""Method tests run tiny models in this process: seeded, and on one thread (tiny matrices only lose
time to thread hand-offs, ten-fold on a busy 2-core machine)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def one_thread_seeded():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
