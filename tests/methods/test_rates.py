"""The torch-free rate table RunConfig reads equals what every registered method recommends."""
from __future__ import annotations

from studio import methods
from studio.methods.rates import RECOMMENDED_RATES


def test_rate_table_matches_the_registry():
    assert RECOMMENDED_RATES == {name: methods.get(name).learning_rate for name in methods.names()}
