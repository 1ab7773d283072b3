"""Per-GPU memory under training.distributed: FSDP divides what it shards, DDP keeps a full copy plus
its gradient buckets, activations are never divided."""
from __future__ import annotations

import pytest

from studio.modelinfo.facts import ModelFacts
from studio.modelinfo.memory import estimate
from studio.modelinfo.sharded_memory import effective_batch, per_process

GB = 10**9
BLOCK = 4096 * 4096 * 4 + 3 * 4096 * 11008 + 2 * 4096  # one Llama-2-7B block: attention, MLP, 2 norms


def llama_7b() -> ModelFacts:
    """Llama-2-7B's facts as the safetensors headers give them (full fine-tuning needs no block0)."""
    blocks = 32 * BLOCK
    return ModelFacts(model_type="llama", architecture="LlamaForCausalLM", layers=32, hidden_size=4096,
                      vocab_size=32000, params=blocks + 2 * 32000 * 4096 + 4096, blocks_params=blocks,
                      lm_head_params=32000 * 4096, above_params=4096 + 32000 * 4096, lm_head=True)


def test_fsdp_divides_parameters_gradients_and_optimizer_state_not_activations():
    facts = llama_7b()
    one = estimate(facts, "full", 4, 1024, "bf16", {}, "causal-lm")
    assert one["total_bytes"] > 112 * GB  # 16 bytes per parameter: no single 80 GB GPU holds it
    eight = per_process(one, facts, 8, "fsdp", weight_bytes=2.0)
    assert eight["weights_bytes"] == int(one["weights_bytes"] / 8)
    assert eight["trainable_state_bytes"] == int(one["trainable_state_bytes"] / 8)
    assert eight["activation_bytes"] == one["activation_bytes"]  # each rank's own micro-batch
    assert eight["overhead_bytes"] == one["overhead_bytes"]      # a CUDA context per process
    assert eight["parallel_bytes"] == 2 * BLOCK * 2  # this block and the prefetched next, unsharded, bf16
    assert eight["total_bytes"] == (eight["weights_bytes"] + eight["trainable_state_bytes"]
                                    + one["activation_bytes"] + one["overhead_bytes"] + 2 * BLOCK * 2)
    assert eight["total_bytes"] < 80 * 2**30 < one["total_bytes"]  # sharded over 8 it fits an 80 GB GPU
    assert eight["all_processes_bytes"] == 8 * eight["total_bytes"]
    assert (eight["processes"], eight["strategy"]) == (8, "fsdp")
    assert any("FSDP over 8 processes" in n for n in eight["assumptions"])
    assert any("not divided" in n for n in eight["assumptions"])
    assert not any("FSDP" in n for n in one["assumptions"])  # the input estimate is left as it was


def test_ddp_keeps_a_full_copy_plus_gradient_buckets():
    facts = llama_7b()
    one = estimate(facts, "full", 2, 512, "bf16", {}, "causal-lm")
    two = per_process(one, facts, 2, "ddp", weight_bytes=2.0)
    for key in ("weights_bytes", "trainable_state_bytes", "activation_bytes", "overhead_bytes"):
        assert two[key] == one[key]
    assert two["parallel_bytes"] == 4 * one["trainable_params"]  # a second fp32 copy of the gradients
    assert two["total_bytes"] == one["total_bytes"] + 4 * one["trainable_params"]
    assert two["all_processes_bytes"] == 2 * two["total_bytes"]


def test_one_process_is_the_single_device_estimate():
    facts = llama_7b()
    one = estimate(facts, "full", 2, 512, "bf16", {}, "causal-lm")
    for strategy in ("ddp", "fsdp"):
        same = per_process(one, facts, 1, strategy, weight_bytes=2.0)
        assert same["total_bytes"] == same["all_processes_bytes"] == one["total_bytes"]
        assert same["parallel_bytes"] == 0
    problem = {"method": "full", "problem": "needs the parameter count"}
    assert per_process(problem, facts, 4, "fsdp", 2.0)["problem"] == "needs the parameter count"
    with pytest.raises(ValueError, match="strategy must be one of ddp, fsdp"):
        per_process(one, facts, 2, "zero3", 2.0)


def test_cpu_processes_are_per_process_without_cuda_overhead():
    facts = llama_7b()
    one = estimate(facts, "full", 1, 64, "fp32", {}, "causal-lm", device="cpu")
    two = per_process(one, facts, 2, "ddp", weight_bytes=4.0)
    assert two["overhead_bytes"] == 0
    assert any("every process holds" in n for n in two["assumptions"])


def test_effective_batch():
    assert effective_batch(8, 4, 2) == 64
