"""Prefix tuning under activation checkpointing.

PEFT hands the prefix to the model as a key/value cache. A checkpointed transformers block drops
any cache it is given (its attention *extends* the cache, and the backward pass's recompute would
extend it a second time), so a prefix-tuned model would train without its prefix: a shape error on
Llama, silently no prefix on BERT. Here the prefix cache is made read-only while training (each
attention call returns prefix + current keys without storing them, so the recompute sees exactly
what the first forward saw) and the blocks are told that this cache may stay.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _read_only_layer_class() -> type:
    from transformers.cache_utils import DynamicLayer

    class PrefixLayer(DynamicLayer):
        """A cache layer holding a prefix that attention reads and never extends."""

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            import torch

            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            return torch.cat([self.keys, key_states], dim=-2), torch.cat([self.values, value_states], dim=-2)

    return PrefixLayer


def is_prefix_tuned(model: Any) -> bool:
    """Whether `model` is a PEFT prefix-tuning model (its prefix travels as a cache)."""
    config = getattr(model, "peft_config", {}).get("default")
    return getattr(getattr(config, "peft_type", None), "value", None) == "PREFIX_TUNING"


def keep_prefix_under_checkpointing(model: Any) -> bool:
    """Let a prefix-tuned model's checkpointed blocks keep its prefix; False if not prefix-tuned."""
    if not is_prefix_tuned(model):
        return False
    from transformers import PreTrainedModel
    from transformers.cache_utils import DynamicLayer
    from transformers.modeling_layers import GradientCheckpointingLayer

    for module in model.get_base_model().modules():
        if isinstance(module, GradientCheckpointingLayer):
            module._can_checkpoint_with_cache = True  # per instance: only this model's blocks
    prefix_layer = _read_only_layer_class()

    def read_only_prefix(module: Any, args: tuple, kwargs: dict) -> None:
        cache = kwargs.get("past_key_values")
        if not module.training or cache is None:
            return  # generation extends the cache as usual
        # Some models (GPT-2) drop the cache themselves when their own flag says checkpointing; the
        # blocks keep a read-only one safely, so the model-level flag is cleared (the blocks' flags,
        # which decide what is recomputed, stay as they are).
        if getattr(module, "gradient_checkpointing", False):
            module.gradient_checkpointing = False
        for layer in getattr(cache, "layers", []):
            if type(layer) is DynamicLayer:
                # A fresh cache per forward (PEFT builds it from the prefix each call): changing its
                # layers' class only changes how `update` behaves, not what they hold.
                layer.__class__ = prefix_layer

    # PEFT passes the prefix to the whole model or, for some classifiers, straight to its backbone.
    for module in model.get_base_model().modules():
        if isinstance(module, PreTrainedModel) and not isinstance(module, GradientCheckpointingLayer):
            module.register_forward_pre_hook(read_only_prefix, with_kwargs=True)
    return True
