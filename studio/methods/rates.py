"""Each method's recommended starting peak learning rate, importable without the method modules.

RunConfig fills an omitted training.learning_rate from here; config.py cannot import the registry
(its method modules reach transformers, which the GUI must never import). Each method registers the
same number as its Method.learning_rate; tests/methods/test_rates.py keeps the two equal.
"""
from __future__ import annotations

RECOMMENDED_RATES: dict[str, float] = {
    "bitfit": 5e-3,  # see studio/methods/bitfit.py for the measured reason
    "compacter": 3e-3,
    "dora": 2e-4,
    "full": 5e-5,
    "houlsby": 1e-3,
    "ia3": 3e-3,
    "lora": 2e-4,
    "pfeiffer": 1e-3,
    "prefix": 1e-3,
    "prompt": 0.3,
    "qlora": 2e-4,
    "top_k": 1e-4,
}
