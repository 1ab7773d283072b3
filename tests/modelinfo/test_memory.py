"""The memory estimate's parameter formulas against `studio probe --all-methods` (a meta-device
model with each method really applied), and the shape of the estimate itself."""
from __future__ import annotations

import json

import pytest
import yaml

from studio.modelinfo.facts import facts_for
from studio.modelinfo.memory import CUDA_OVERHEAD, estimate, estimate_all
from tests.conftest import studio

TASKS = {"gpt2": "causal-lm", "llama": "causal-lm", "bert": "classification"}


@pytest.fixture(scope="module")
def probes(tiny_models, tmp_path_factory):
    """What `studio probe CONFIG --all-methods --num-labels 2 --json` prints, per tiny model.

    The command's own function runs in this process (torch is already loaded for tiny_models):
    three CLI subprocesses would each import torch again. The JSON round trip is kept; the
    command itself is covered by tests/test_probe_cli.py and test_probe_cli_matches_in_process below.
    """
    from studio.commands.methods import probe_all
    from studio.submit import load_without_data

    root = tmp_path_factory.mktemp("probe")
    out = {}
    for arch, task in TASKS.items():
        cfg = write_probe_config(root, arch, task, tiny_models[arch])
        result = json.loads(json.dumps(probe_all(load_without_data(cfg), ["LABEL_0", "LABEL_1"], str(cfg))))
        out[arch] = {m["method"]: m for m in result["methods"]}
    return out


def write_probe_config(root, arch: str, task: str, model):
    cfg = root / f"{arch}.yaml"
    cfg.write_text(yaml.safe_dump({"name": arch, "task": task, "model": str(model),
                                   "data": {"train": str(root / "unused.jsonl")}, "method": {"name": "full"}}))
    return cfg


def test_probe_cli_matches_in_process(tiny_models, probes, home, tmp_path):
    cfg = write_probe_config(tmp_path, "llama", "causal-lm", tiny_models["llama"])
    proc = studio(home, "probe", str(cfg), "--all-methods", "--num-labels", "2", "--json", check=True)
    assert {m["method"]: m for m in json.loads(proc.stdout)["methods"]} == probes["llama"]


@pytest.mark.parametrize("arch", list(TASKS))
def test_formulas_match_the_probe_exactly(tiny_models, probes, method_defaults, arch):
    facts = facts_for(tiny_models[arch])
    rows = estimate_all(facts, method_defaults, 4, 64, "fp32", task=TASKS[arch], num_labels=2)
    assert [r["method"] for r in rows] == sorted(probes[arch])
    for est in rows:
        probe = probes[arch][est["method"]]
        if "error" in probe:  # refused by the method (bitfit on llama): the estimate says so too
            assert est["problem"].startswith("not applicable"), est
            continue
        assert est["problem"] is None, est
        assert (est["trainable_params"], est["total_params"]) == \
            (probe["trainable_params"], probe["total_params"]), est["method"]


def test_bitfit_on_llama_is_not_applicable(tiny_models, method_defaults):
    est = estimate(facts_for(tiny_models["llama"]), "bitfit", 8, 512, "bf16", method_defaults["bitfit"])
    assert "no bias terms" in est["problem"] and "total_bytes" not in est


def test_parts_add_up_and_scale(tiny_models, method_defaults):
    facts = facts_for(tiny_models["llama"])
    lora = method_defaults["lora"]
    one = estimate(facts, "lora", 8, 512, "bf16", lora)
    assert one["total_bytes"] == (one["weights_bytes"] + one["trainable_state_bytes"]
                                  + one["activation_bytes"] + one["overhead_bytes"])
    assert one["overhead_bytes"] == CUDA_OVERHEAD
    assert one["trainable_state_bytes"] == 16 * one["trainable_params"]
    assert one["weights_bytes"] == 2 * (one["total_params"] - one["trainable_params"])
    double = estimate(facts, "lora", 16, 512, "bf16", lora)
    assert double["activation_bytes"] == 2 * one["activation_bytes"]
    fp32 = estimate(facts, "lora", 8, 512, "fp32", lora)
    assert fp32["weights_bytes"] == 2 * one["weights_bytes"] and fp32["activation_bytes"] > one["activation_bytes"]
    text = " ".join(one["assumptions"])
    assert "16 bytes per trainable parameter" in text and "Korthikanti" in text and "CUDA" in text


def test_quantized_base_and_top_k_need_less(method_defaults):
    from studio.modelinfo.sources import resolve_model

    src = resolve_model("sample:smollm2")
    facts = facts_for(src.path, src.gguf_file)
    est = {e["method"]: e for e in estimate_all(facts, method_defaults, 8, 512, "bf16")}
    # 4-bit linear layers, but peft's k-bit preparation keeps the 28M embedding in fp32
    assert est["qlora"]["weights_bytes"] < 0.7 * est["lora"]["weights_bytes"]
    assert est["top_k"]["activation_bytes"] < est["lora"]["activation_bytes"]
    assert est["full"]["trainable_params"] == 134_515_008
    assert est["full"]["trainable_state_bytes"] == 16 * 134_515_008
    assert est["bitfit"]["problem"].startswith("not applicable")


def test_bad_options_and_missing_facts_are_problems(tiny_models):
    facts = facts_for(tiny_models["gpt2"])
    assert "option" in estimate(facts, "lora", 1, 8, "bf16", {})["problem"]
    assert "more than the model's 2 blocks" in estimate(facts, "top_k", 1, 8, "bf16", {"k": 5})["problem"]
    assert "must divide" in estimate(facts, "compacter", 1, 8, "bf16",
                                     {"size": 64, "n": 5, "placement": "houlsby"})["problem"]
    from studio.modelinfo.facts import ModelFacts

    assert "parameter count" in estimate(ModelFacts(), "lora", 1, 8, "bf16", {"r": 8})["problem"]


def test_bare_encoders_are_estimated_as_classifiers():
    from studio.modelinfo.facts import ModelFacts
    from studio.modelinfo.memory import task_of

    assert task_of(ModelFacts(architecture="BertModel", model_type="bert")) == "classification"
    assert task_of(ModelFacts(architecture="LlamaForCausalLM", model_type="llama")) == "causal-lm"


def _llama_parts(tiny_models, tokens: int):
    facts = facts_for(tiny_models["llama"])
    return facts, tokens * facts.hidden_size, tokens * facts.vocab_size * 12  # per-unit base, loss


def test_checkpointing_keeps_every_kth_blocks_input_plus_one_recompute(tiny_models, method_defaults):
    facts, unit, logits = _llama_parts(tiny_models, 8 * 64)
    lora, L = method_defaults["lora"], facts.layers
    assert L == 2

    def act(**kw):
        return estimate(facts, "lora", 8, 64, "bf16", lora, **kw)["activation_bytes"]

    assert act() == unit * L * 34 + logits
    # every block checkpointed: each keeps its 16-bit input; backward recomputes one block at a time
    assert act(checkpoint_every=1) == unit * (L * 2 + 34) + logits
    # transformers' every_n_layers=2 checkpoints block 0 only; block 1 keeps all its activations
    assert act(checkpoint_every=2) == unit * (34 + 2 + 34) + logits
    assert act(checkpoint_every=1, offload=True) == unit * 34 + logits  # inputs live in CPU memory
    on_cpu = estimate(facts, "lora", 8, 64, "bf16", lora, device="cpu", checkpoint_every=1, offload=True)
    assert on_cpu["activation_bytes"] == act(checkpoint_every=1)  # offload is CUDA-only
    assert "every 2 block(s): 1 of 2 blocks" in " ".join(
        estimate(facts, "lora", 8, 64, "bf16", lora, checkpoint_every=2)["assumptions"])


def test_cuda_overhead_only_on_cuda_and_real_token_counts(tiny_models, method_defaults):
    facts, unit, logits = _llama_parts(tiny_models, 100)
    lora = method_defaults["lora"]
    cuda = estimate(facts, "lora", 8, 64, "fp32", lora)
    cpu = estimate(facts, "lora", 8, 64, "fp32", lora, device="cpu")
    assert cuda["total_bytes"] - cpu["total_bytes"] == CUDA_OVERHEAD and cpu["overhead_bytes"] == 0
    packed = estimate(facts, "lora", 8, 64, "fp32", lora, device="cpu", packed=True, tokens=100)
    assert packed["activation_bytes"] == unit * facts.layers * 68 + logits  # fp32: 2 × 34 bytes
    assert "100 tokens per micro-batch, counted on the longest rows (packed" in " ".join(packed["assumptions"])
    bound = " ".join(estimate(facts, "lora", 8, 64, "fp32", lora, packed=True)["assumptions"])
    assert "512 tokens per micro-batch, the bound batch·max_length" in bound and "no pad tokens" in bound


def test_run_estimate_follows_the_config(tiny_models, method_defaults):
    from studio.config import RunConfig
    from studio.modelinfo.run_memory import resolve_device, run_estimate

    cfg = RunConfig.from_dict({"name": "x", "task": "causal-lm", "model": str(tiny_models["llama"]),
                               "data": {"train": "d.jsonl",
                               "max_length": 48}, "method": {"name": "lora", "r": 2},
                               "training": {"batch_size": 3, "activation_checkpointing": {"every_n": 2}}})
    facts = facts_for(tiny_models["llama"])
    assert resolve_device(cfg.training, cuda=False) == ("cpu", "fp32")
    assert resolve_device(cfg.training, cuda=True) == ("cuda", "bf16")
    got = run_estimate(facts, cfg, method_defaults["lora"], device="cpu", precision="fp32")
    want = estimate(facts, "lora", 3, 48, "fp32", {**method_defaults["lora"], "r": 2}, "causal-lm",
                    device="cpu", checkpoint_every=2, packed=True)
    assert {k: got[k] for k in want} == want and got["trainable_params"] == facts.layers * 2 * (32 + 32 + 32 + 16)
    # One process (training.distributed's default): the single-device figure is the whole run's.
    assert (got["processes"], got["parallel_bytes"], got["all_processes_bytes"]) == (1, 0, want["total_bytes"])


def test_one_formatter_in_binary_units():
    from studio.modelinfo.memory import format_memory

    assert [format_memory(n) for n in (12 * 1024, 850 * 2**20, 4.5 * 2**30)] == ["12 KiB", "850 MiB", "4.50 GiB"]
