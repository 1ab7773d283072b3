"""Does packing pay for this data on this model? A FLOP estimate of packed rows against random padded
batches, from the run's own example lengths.

A packed row saves every pad token's work in the linear layers, but under sdpa and eager attention
the row's block-diagonal mask is dense: attention costs (sum of lengths)² instead of the padded
batch's batch × longest². On equal-length data packing therefore only adds work (measured on a
2-core CPU with bench/throughput.py's model: 0.56× the tokens/s of padded batches of 8 × 128
tokens); on ragged data it wins (2.4× at lognormal lengths up to 256). Varlen kernels (flash
attention, flex attention) attend within each example only, so there packing always pays.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

VARLEN_ATTENTION = ("flash_attention_2", "flash_attention_3", "flex_attention")
_SAMPLED_BATCHES = 256


def attention_share(model: Any) -> float:
    """FLOPs of one (query, key) pair over FLOPs of one token through the weights (≈ 2d·L / (P + V·d))."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    d = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0))
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0))
    if not d or not layers:
        return 0.0
    embeddings = {id(p) for p in model.get_input_embeddings().parameters()}
    # Logical sizes: a 4-bit bitsandbytes weight stores two values per element.
    weights = sum((p.quant_state.shape.numel() if getattr(p, "quant_state", None) is not None else p.numel())
                  for p in model.parameters() if id(p) not in embeddings)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    # A tied lm head is the input embedding, left out above, yet it runs for every token.
    head = vocab * d if _head_is_tied(model) else 0
    # 2 FLOPs per weight and token; QKᵀ and AV cost 2·d each per (query, key) pair and layer.
    return 4 * d * layers / (2 * (weights + head))


def _head_is_tied(model: Any) -> bool:
    try:
        out = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return False
    return out is not None and out.weight is model.get_input_embeddings().weight


def packed_cost_ratio(lengths: Sequence[int], batch_size: int, share: float, varlen: bool = False,
                      seed: int = 0) -> float:
    """Estimated compute of packed rows ÷ random padded batches, over sampled batches of `lengths`."""
    if batch_size < 2 or len(lengths) < 2:
        return 1.0  # one example per batch: nothing to pad, nothing to pack
    rng = random.Random(seed)
    order = list(lengths)
    packed = padded = 0.0
    for _ in range(_SAMPLED_BATCHES):
        batch = rng.sample(order, min(batch_size, len(order)))
        total, longest = sum(batch), max(batch)
        attention = sum(n * n for n in batch) if varlen else total * total
        packed += total + share * attention
        padded += len(batch) * (longest + share * longest * longest)
    return packed / padded


def attention_kind(model: Any) -> str:
    """The attention implementation the model runs (sdpa, eager, flash_attention_2 ...)."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return str(getattr(config, "_attn_implementation", None) or "eager")
