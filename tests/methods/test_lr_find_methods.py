"""The range test works for every method (tiny BERT classifier, a short sweep): the top group's rate
follows the sweep, the losses are the method's own, and it trains what the run would train."""
from __future__ import annotations

import math

import pytest

from studio.core.lr_find import lr_find
from studio.core.lr_range import sweep_rate
from studio.core.probe import probe
from tests.methods.test_engine_methods import TOPICS, config
from tests.methods.test_matrix import OPTIONS

STEPS = 6


@pytest.mark.parametrize("method", sorted(OPTIONS))
def test_lr_find_runs_for_every_method(tmp_path, tiny_models, method):
    cfg = config(tmp_path, tiny_models, method)
    result = lr_find(cfg, tmp_path / "models", steps=STEPS, start=1e-5, end=1.0)
    n = result["steps_run"]
    assert 3 <= n <= STEPS
    assert result["lrs"] == pytest.approx([sweep_rate(i, STEPS, 1e-5, 1.0) for i in range(n)], rel=1e-5)
    assert all(x is None or math.isfinite(x) for x in result["losses"][:n - 1])
    assert result["trainable_params"] == probe(cfg, TOPICS)["trainable_params"]
    assert result["method"] == method
