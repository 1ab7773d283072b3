"""Model facts from config.json and weight-file headers: exact counts (checked against torch), shards,
tied weights, buffers, GGUF, and broken files turned into problem text."""
from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from studio.modelinfo.facts import facts_for
from studio.modelinfo.sources import resolve_model


def torch_count(folder, arch: str) -> int:
    """The real parameter count of the saved model, loaded with transformers."""
    import transformers

    auto = (transformers.AutoModelForSequenceClassification if arch == "bert"
            else transformers.AutoModelForCausalLM)
    return sum(p.numel() for p in auto.from_pretrained(folder).parameters())


@pytest.mark.parametrize("arch", ["gpt2", "llama", "bert"])
def test_safetensors_count_equals_torch(tiny_models, arch):
    facts = facts_for(tiny_models[arch])
    assert facts.problem is None
    assert facts.params == torch_count(tiny_models[arch], arch)
    assert facts.dtype == "F32" and facts.weights_format == "safetensors"
    assert (facts.layers, facts.hidden_size, facts.vocab_size) == (2, 32, 400)
    assert facts.architecture == {"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM",
                                  "bert": "BertForSequenceClassification"}[arch]
    assert facts.size_bytes >= (tiny_models[arch] / "model.safetensors").stat().st_size


def test_config_facts_of_llama(tiny_models):
    f = facts_for(tiny_models["llama"])
    assert (f.heads, f.kv_heads, f.head_dim, f.intermediate_size) == (4, 2, 8, 64)
    assert f.tie_word_embeddings is False and f.max_positions == 128
    assert f.block0["self_attn.v_proj.weight"] == [16, 32]  # [out, in]
    assert f.bias_params == 0 and f.block_norm_params == 2 * 2 * 32


def test_gpt2_conv1d_shapes_are_stored_as_out_in(tiny_models):
    f = facts_for(tiny_models["gpt2"])
    assert f.block0["attn.c_attn.weight"] == [96, 32]  # Conv1D stores [in, out]; facts use [out, in]
    assert f.intermediate_size == 128  # n_inner: null means 4·d


def test_sharded_index_counts_every_shard_once(tiny_models, tmp_path):
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    out = tmp_path / "sharded"
    model.save_pretrained(out, max_shard_size="60KB")
    assert (out / "model.safetensors.index.json").is_file()
    assert len(list(out.glob("model-*.safetensors"))) > 1
    assert facts_for(out).params == sum(p.numel() for p in model.parameters())
    next(out.glob("model-*.safetensors")).unlink()
    assert "shards missing" in facts_for(out).problem


def _tied_model(folder, tie: bool):
    folder.mkdir()
    emb = np.zeros((50, 8), np.float32)
    save_file({"model.embed_tokens.weight": emb, "lm_head.weight": emb.copy(),
               "model.layers.0.mlp.up_proj.weight": np.zeros((16, 8), np.float32),
               "model.layers.0.mlp.up_proj.bias": np.zeros(16, np.float32),
               "model.rotary_emb.inv_freq": np.zeros(4, np.float32),
               "model.position_ids": np.zeros((1, 64), np.int64)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8,
        "num_hidden_layers": 1, "vocab_size": 50, "tie_word_embeddings": tie}))
    return facts_for(folder)


def test_tied_weights_stored_twice_count_once_and_buffers_do_not_count(tmp_path):
    tied, untied = _tied_model(tmp_path / "tied", True), _tied_model(tmp_path / "untied", False)
    assert tied.params == 400 + 128 + 16
    assert untied.params == 2 * 400 + 128 + 16
    assert tied.lm_head_params == 0 and untied.lm_head_params == 400
    assert tied.bias_params == 16 and tied.block_bias_params == 16


def test_corrupt_header_is_a_problem_not_an_exception(tiny_models, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_models["gpt2"], folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    facts = facts_for(folder)
    assert str(weights) in facts.problem and "corrupt safetensors header" in facts.problem
    assert facts.architecture == "GPT2LMHeadModel"  # the config's facts are still shown
    weights.write_bytes(struct.pack("<Q", 5) + b"nope!")
    assert "not JSON" in facts_for(folder).problem
    weights.write_bytes(b"abc")
    assert "shorter than 8 bytes" in facts_for(folder).problem


def test_missing_or_bad_config_is_a_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no config.json" in facts_for(tmp_path / "empty").problem
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    assert str(bad / "config.json") in facts_for(bad).problem
    assert "bad magic" in facts_for(_write(tmp_path / "x.gguf", b"NOPE" + bytes(20))).problem
    assert facts_for(tmp_path / "nowhere").problem


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_gguf_smollm2_from_its_header():
    src = resolve_model("sample:smollm2")
    facts = facts_for(src.path, src.gguf_file)
    assert facts.problem is None
    assert facts.params == 134_515_008  # SmolLM2-135M, tied embeddings
    assert facts.model_type == "llama" and facts.weights_format == "gguf"
    assert (facts.layers, facts.hidden_size, facts.vocab_size, facts.heads, facts.kv_heads) == (30, 576, 49152, 9, 3)
    assert facts.tie_word_embeddings is True and facts.quantization == "Q4_1"
    assert facts.block0["self_attn.k_proj.weight"] == [192, 576]  # transformers' names, [out, in]


@pytest.mark.slow  # GGUFReader parses all 49k tokenizer strings: ~3 s alone, more on a busy machine
def test_gguf_header_agrees_with_gguf_reader():
    from gguf import GGUFReader

    from studio.modelinfo.gguf_header import read_gguf_header

    src = resolve_model("sample:smollm2")
    path = f"{src.path}/{src.gguf_file}"
    meta, tensors = read_gguf_header(path)
    reader = GGUFReader(path)  # memory-maps the weights; slow only because it parses the tokenizer
    assert [(t.name, [int(d) for d in t.shape][::-1], t.tensor_type.name) for t in reader.tensors] == tensors
    assert meta["llama.block_count"] == reader.fields["llama.block_count"].contents()
