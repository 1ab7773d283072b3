"""Which linear layers a LoRA-style method adapts, per architecture family."""
from __future__ import annotations

from typing import Any

# Attention projections by family; the LoRA paper adapts W_q and W_v only.
_QV = {"gpt2": ["c_attn"], "bert": ["query", "value"], "llama": ["q_proj", "v_proj"],
       "mistral": ["q_proj", "v_proj"], "qwen2": ["q_proj", "v_proj"], "gemma": ["q_proj", "v_proj"],
       "roberta": ["query", "value"], "distilbert": ["q_lin", "v_lin"], "phi3": ["qkv_proj"]}
_ATTENTION = {"gpt2": ["c_attn", "attn.c_proj"], "bert": ["query", "key", "value", "attention.output.dense"],
              "roberta": ["query", "key", "value", "attention.output.dense"],
              "distilbert": ["q_lin", "k_lin", "v_lin", "out_lin"], "phi3": ["qkv_proj", "o_proj"]}
_LLAMA_LIKE_ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
PRESETS = ("qv", "attention", "all-linear")


def target_modules(model_type: str, preset: str) -> Any:
    """Module names (or peft's 'all-linear') for a model family and a preset."""
    if preset == "all-linear":
        return "all-linear"
    if preset == "qv":
        if model_type in _QV:
            return _QV[model_type]
        return ["q_proj", "v_proj"]
    if model_type in _ATTENTION:
        return _ATTENTION[model_type]
    return _LLAMA_LIKE_ATTENTION
