"""`studio probe` and `studio methods`, as the GUI calls them (JSON only on stdout), and `studio train`
refusing a method the model cannot take before any run is recorded."""
from __future__ import annotations

import json

from studio import methods
from studio.store.db import open_db
from tests.conftest import instruction_rows, studio, write_config, write_jsonl


def test_probe_json_counts_lora_exactly_by_the_formula(home, tiny_models, tmp_path):
    from transformers import AutoConfig

    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(10))
    cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(data)},
                       method={"name": "lora", "r": 4, "targets": "qv"})
    out = json.loads(studio(home, "probe", str(cfg), "--json", check=True).stdout)
    c = AutoConfig.from_pretrained(tiny_models["llama"])
    d, kv = c.hidden_size, c.num_key_value_heads * (c.hidden_size // c.num_attention_heads)
    lora = c.num_hidden_layers * (4 * (d + d) + 4 * (d + kv))  # q: d -> d, v: d -> kv width
    assert out["trainable_params"] == lora
    assert out["method"] == "lora" and out["mergeable"] is True and out["model_type"] == "llama"
    assert [g["name"] for g in out["layer_groups"]] == [f"block {i}" for i in range(c.num_hidden_layers)]
    est = out["memory_estimate"]  # the Models page's estimate (studio.modelinfo.memory), for this config
    assert est["trainable_params"] == lora and est["problem"] is None
    assert est["total_bytes"] == (est["weights_bytes"] + est["trainable_state_bytes"] + est["activation_bytes"]
                                  + est["overhead_bytes"]) and est["activation_bytes"] > 0
    assert "r·(d_in + d_out)" in out["description"]


def test_probe_sizes_a_classifier_head_from_the_data_or_num_labels(home, tiny_models, tmp_path):
    rows = [{"text": f"t {i}", "label": ["a", "b", "c"][i % 3]} for i in range(12)]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = write_config(tmp_path, task="classification", model=str(tiny_models["bert"]),
                       data={"train": str(data)}, method={"name": "bitfit"})
    from_data = json.loads(studio(home, "probe", str(cfg), "--json", check=True).stdout)
    five = json.loads(studio(home, "probe", str(cfg), "--json", "--num-labels", "5", check=True).stdout)
    hidden = 32
    assert five["trainable_params"] - from_data["trainable_params"] == 2 * (hidden + 1)  # 2 more labels
    assert from_data["layer_groups"][-1]["name"] == "head"


def test_methods_json_lists_every_method_with_documented_options(home):
    out = json.loads(studio(home, "methods", "--json", check=True).stdout)
    assert [m["name"] for m in out] == methods.names()
    assert {"lora", "dora", "qlora", "ia3", "prefix", "prompt", "houlsby", "pfeiffer", "compacter",
            "bitfit", "top_k", "full"} == set(methods.names())
    for m in out:
        assert m["description"] and all(o["doc"] for o in m["options"]), m["name"]


def test_train_refuses_bitfit_on_llama_before_recording_a_run(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(10))
    cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(data)},
                       method={"name": "bitfit"})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 2
    assert str(cfg) in proc.stderr and "no bias terms" in proc.stderr and "choose lora or ia3" in proc.stderr
    assert open_db(home.db_path)["runs"].count == 0


def test_probe_names_a_bad_method_option(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(10))
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data)},
                       method={"name": "compacter", "n": 5, "size": 8})
    proc = studio(home, "probe", str(cfg))
    assert proc.returncode == 2
    assert str(cfg) in proc.stderr and "method.n" in proc.stderr and proc.stdout == ""


def test_train_refuses_speed_settings_this_machine_cannot_run(home, tiny_models, tmp_path):
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("offload and liger can run where CUDA is present")
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(10))
    for training, field in (({"activation_checkpointing": "offload"}, "training.activation_checkpointing"),
                            ({"kernels": "liger"}, "training.kernels")):
        cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(data)},
                           training=training)
        proc = studio(home, "train", str(cfg))
        assert proc.returncode == 2, proc.stderr
        assert str(cfg) in proc.stderr and field in proc.stderr and "CUDA" in proc.stderr
    assert open_db(home.db_path)["runs"].count == 0
