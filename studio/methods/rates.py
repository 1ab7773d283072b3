"""Each method's recommended starting peak learning rate per task, importable without the method modules.

RunConfig fills an omitted training.learning_rate from here; config.py cannot import the registry
(its method modules reach transformers, which the GUI must never import). Each method registers its
generative rate (RECOMMENDED_RATES) as its Method.learning_rate; tests/methods/test_rates.py keeps
the two equal.

Why the task matters: the papers' rates come from their own settings. LoRA's 2e-4 is the QLoRA
paper's rate for chat fine-tuning of 7B-65B decoders over thousands of steps; the LoRA paper's
RoBERTa classification runs use 4e-4-5e-4 at alpha/r = 1 (about 2e-4 at the studio's alpha/r = 2)
but for 25-80 epochs. A sequence classifier trains a new, randomly initialised head and, in the
studio's typical run, a small encoder for a few hundred steps: at 2e-4 LoRA reached 57.5 % on the
bundled topics sample in 60 steps where 2e-3 reached 99 % (bench/methods.py, README).
"""
from __future__ import annotations

# Generative fine-tuning (causal-lm SFT and preference tuning): each method's paper rate.
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

# Sequence classification: where a short run needs a different rate than the generative one
# (measured on sample:minilm with bench/methods.py; the README's table). Methods not listed keep
# their generative rate, which already came within 4 points of full fine-tuning on the topics sample.
CLASSIFICATION_RATES: dict[str, float] = {
    "dora": 2e-3,
    "lora": 2e-3,
    # P-tuning v2's rate for its classification prefixes (no MLP; prefix.py's classification options):
    # through the MLP at 1e-3 the computed prefix moved 20-33 % of its size each step (measured).
    "prefix": 1e-2,
    # QLoRA's r = 64 on every linear layer changes far more than LoRA's r = 8 on q and v: at 2e-3 it
    # stayed at ln 6 on the rankings sample for 1200 steps, at 1e-3 it reached 100.0 %.
    "qlora": 1e-3,
    # The adapters' and BitFit's paper rates are for long runs; on the rankings sample (1200 steps) a rate
    # this high stayed at ln 6 (Houlsby, Pfeiffer and Compacter at 3e-3, BitFit at 5e-3) while 1e-3 left
    # it: Compacter 16.7 -> 100.0 %, BitFit 16.7 -> 52.9 % (topics in 60 steps: 99.5 -> 97.5 % and
    # 98.5 -> 96.0 %, full fine-tuning 99.5 %). 5e-4 was slower still (BitFit 50.5 %, Houlsby 51.3 %).
    "bitfit": 1e-3,
    "compacter": 1e-3,
}

_BY_TASK: dict[str, dict[str, float]] = {"classification": CLASSIFICATION_RATES}


def recommended_rate(method: str, task: str) -> float:
    """The starting peak learning rate for `method` on `task` (KeyError for an unknown method)."""
    return _BY_TASK.get(task, {}).get(method, RECOMMENDED_RATES[method])
