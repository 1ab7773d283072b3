"""The memory estimate for task preference: full fine-tuning's frozen reference copy, no copy for
adapters, the originals of in-place trained tensors, twice the tokens for pairs."""
from __future__ import annotations

from studio.modelinfo.facts import facts_for
from studio.modelinfo.memory import estimate


def _est(tiny_models, method: str, task: str, options=None, **kw):
    facts = facts_for(str(tiny_models["gpt2"]))
    return estimate(facts, method, 4, 32, "fp32", options or {}, task, device="cpu", **kw)


def test_full_dpo_keeps_a_frozen_copy_and_orpo_does_not(tiny_models):
    sft, dpo = _est(tiny_models, "full", "causal-lm"), _est(tiny_models, "full", "preference")
    orpo = _est(tiny_models, "full", "preference", preference="orpo")
    copy = dpo["total_params"] * 4
    assert dpo["weights_bytes"] == sft["weights_bytes"] + copy
    assert orpo["weights_bytes"] == sft["weights_bytes"]
    assert any("frozen copy" in n for n in dpo["assumptions"])


def test_adapters_add_no_weights_and_in_place_methods_keep_their_originals(tiny_models):
    lora_sft = _est(tiny_models, "lora", "causal-lm", {"r": 8})
    lora_dpo = _est(tiny_models, "lora", "preference", {"r": 8})
    assert lora_dpo["weights_bytes"] == lora_sft["weights_bytes"]
    assert lora_dpo["trainable_state_bytes"] == lora_sft["trainable_state_bytes"]
    top_sft = _est(tiny_models, "top_k", "causal-lm", {"k": 1})
    top_dpo = _est(tiny_models, "top_k", "preference", {"k": 1})
    assert top_dpo["weights_bytes"] == top_sft["weights_bytes"] + top_dpo["trainable_params"] * 4


def test_pairs_double_the_tokens_and_the_fused_head_keeps_no_vocabulary_logits(tiny_models):
    sft = _est(tiny_models, "lora", "causal-lm", {"r": 8})
    dpo = _est(tiny_models, "lora", "preference", {"r": 8})
    orpo = _est(tiny_models, "lora", "preference", {"r": 8}, preference="orpo")
    assert orpo["activation_bytes"] == 2 * sft["activation_bytes"]  # ORPO builds the logits like SFT
    assert dpo["activation_bytes"] < orpo["activation_bytes"]  # DPO/KTO: log-probs in chunks, no logits
