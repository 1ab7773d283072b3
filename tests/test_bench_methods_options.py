"""bench/methods.py's overrides for a rate search: --option KEY=VALUE reads YAML values, a bad pair is refused,
and without --learning-rate each method gets the rate a classification config without one gets."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_methods", ROOT / "bench" / "methods.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_options_are_yaml_values_and_a_bad_pair_names_the_flag():
    b = bench()
    assert b.parse_options(["r=16", "targets=all-linear", "prefix_projection=false"]) == {
        "r": 16, "targets": "all-linear", "prefix_projection": False}
    with pytest.raises(SystemExit, match="--option"):
        b.parse_options(["r16"])


def test_the_default_rate_is_the_classification_one():
    b = bench()
    assert b.default_learning_rate("lora") == pytest.approx(2e-3)
    assert b.default_learning_rate("full") == pytest.approx(5e-5)
