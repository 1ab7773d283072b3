"""The packing cost estimate: packed rows pay on ragged data, not on equal lengths under dense-mask
attention, always under varlen attention; the attention share follows the model's shape."""
from __future__ import annotations

import math
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

from studio.core.packing_cost import attention_kind, attention_share, packed_cost_ratio


def _lognormal(n, longest, seed=0):
    rng = random.Random(seed)
    return [int(min(longest, max(16, rng.lognormvariate(math.log(longest / 4), 0.8)))) for _ in range(n)]


def test_equal_lengths_never_pay_under_dense_attention_and_break_even_under_varlen():
    assert packed_cost_ratio([128] * 64, 8, share=1e-3) > 1.5
    assert packed_cost_ratio([128] * 64, 8, share=1e-3, varlen=True) == pytest.approx(1.0)


def test_ragged_lengths_pay_and_more_so_under_varlen():
    lengths = _lognormal(200, 256)
    dense = packed_cost_ratio(lengths, 8, share=6e-4)
    assert dense < 0.7
    assert packed_cost_ratio(lengths, 8, share=6e-4, varlen=True) < dense


def test_one_example_per_batch_is_a_tie():
    assert packed_cost_ratio(_lognormal(50, 256), 1, share=6e-4) == 1.0


def test_the_estimate_is_deterministic():
    lengths = _lognormal(300, 512)
    assert packed_cost_ratio(lengths, 8, 1e-4) == packed_cost_ratio(lengths, 8, 1e-4)


def _llama(hidden, layers, vocab, tied):
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 4, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=tied)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")


def test_attention_share_is_two_d_layers_over_the_weights_per_token():
    d, layers, vocab = 64, 3, 1000
    model = _llama(d, layers, vocab, tied=True)
    per_layer = 4 * d * d + 3 * d * (4 * d) + 2 * d  # q k v o, gate up down, two norms
    weights = layers * per_layer + d + vocab * d  # + final norm + the tied head, which runs per token
    assert attention_share(model) == pytest.approx(4 * d * layers / (2 * weights))
    # An untied head is a weight of its own: the same FLOPs per token either way.
    assert attention_share(_llama(d, layers, vocab, tied=False)) == pytest.approx(attention_share(model))
    assert attention_kind(model) == "sdpa"
