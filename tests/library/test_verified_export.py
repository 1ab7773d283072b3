"""Every export is reloaded by its consumer's loader and compared with the in-memory base+adapter; the
result is in the export (verification.json, covered by the manifest) and in the exports table, and
`studio adapters show` lists it. A damaged copy, a classifier's labels and a GGUF base are covered."""
from __future__ import annotations

import json
import shutil

import pytest

from studio.cli import main
from studio.library import export, reload, verify
from studio.library.bundle import verify_manifest
from studio.library.inspect import describe
from tests.library.conftest import make_adapter
from tests.library.gguf_tiny import make_gguf_llama


def test_merged_and_adapter_only_exports_are_verified(tmp_path, tiny_models):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora", scale=0.2)
    merged = export.export_merged(adapter, tmp_path / "merged", dtype="fp32")
    record = json.loads((merged / verify.VERIFICATION).read_text())
    assert record["verified"] and record["agreement"] == 1.0 and record["tokens"] > 0
    assert record["relative_logit_diff"] < 1e-3
    assert len(record["prompts"]) == 3 and all(p.startswith("<|user|>") for p in record["prompts"])  # chat-rendered
    assert verify_manifest(merged) == []  # the record is covered by the manifest
    only = export.export_adapter_only(adapter, tmp_path / "only")
    record = json.loads((only / verify.VERIFICATION).read_text())
    assert record["verified"] and record["max_logit_diff"] == 0.0


def test_a_damaged_adapter_copy_is_unverified(tmp_path, tiny_models):
    from safetensors.torch import load_file, save_file

    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora", scale=0.2)
    info = describe(adapter)
    ref, tokenizer, base_dir = reload.adapter_reference(adapter, info, None, None)
    copy = shutil.copytree(adapter, tmp_path / "copy")
    weights = load_file(copy / "adapter_model.safetensors")
    save_file({k: v * 3 if "lora_B" in k else v for k, v in weights.items()}, copy / "adapter_model.safetensors")
    record = reload.check_adapter(copy, info, ref, tokenizer, base_dir)
    assert not record["verified"] and "logit difference" in record["reason"]


def test_classifier_exports_compare_predicted_labels(tmp_path, tiny_models):
    adapter = make_adapter(tmp_path / "adapter", tiny_models["bert"], "bert", "lora")
    record = json.loads((export.export_merged(adapter, tmp_path / "m", dtype="fp32") / verify.VERIFICATION).read_text())
    assert record["verified"] and record["agreement"] == 1.0
    assert record["labels"] == record["reference_labels"] and len(record["labels"]) == 3
    assert record["tolerance"] == {"min_label_agreement": 1.0}


def test_prompts_come_from_the_training_data_when_it_is_there(tmp_path, tiny_models):
    from studio.core.models import load_tokenizer

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Say {w}.", "output": w}) + "\n" for w in "abcd"))
    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora")
    meta = json.loads((adapter / "studio.json").read_text())
    meta["training"]["data"]["train"] = str(data)
    (adapter / "studio.json").write_text(json.dumps(meta))
    prompts = verify.sample_prompts(describe(adapter), load_tokenizer(str(adapter)))
    assert prompts == [f"<|user|>Say {w}.<|end|>\n<|assistant|>" for w in "abc"]
    data.unlink()  # the data is gone: fixed prompts instead
    assert len(verify.sample_prompts(describe(adapter), load_tokenizer(str(adapter)))) == 3


def test_cli_records_exports_and_adapters_show_lists_them(home, tmp_path, tiny_models, capsys):
    from studio.store.db import open_db
    from studio.store.exports import list_exports

    adapter = make_adapter(tmp_path / "adapter", tiny_models["llama"], "llama", "lora")
    assert main(["adapters", "import", str(adapter), "--name", "pirate"]) == 0
    capsys.readouterr()
    assert main(["export", "pirate", "--merged", str(tmp_path / "m"), "--dtype", "bf16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "merged" and result["verification"]["verified"]
    assert main(["export", "pirate", "--adapter-only", str(tmp_path / "a"), "--no-verify"]) == 0
    assert "unverified: verification skipped" in capsys.readouterr().out
    db = open_db(home.db_path)
    rows = list_exports(db, "pirate")
    db.close()
    assert [(r["format"], r["quant"], r["verified"]) for r in rows] == [("adapter-only", None, False),
                                                                      ("merged", "bf16", True)]
    assert rows[1]["tolerance"] == {"min_token_agreement": 0.9, "max_relative_logit_diff": 0.06}
    assert main(["adapters", "show", "pirate"]) == 0
    shown = capsys.readouterr().out
    assert f"merged bf16 -> {tmp_path / 'm'} [verified]" in shown
    assert "adapter-only" in shown and "[unverified: verification skipped" in shown


def test_adapter_on_a_gguf_base_merge_exports(tmp_path):
    """The base is a .gguf file whose converted folder is gone (another home, cleaned models/): the
    export converts it again, as training did, instead of refusing."""
    from studio.core.models import convert_gguf
    from studio.library.gguf_export import run_converter
    from studio.modelinfo.sources import resolve_model

    folder = make_gguf_llama(tmp_path / "hf")
    gguf_file = tmp_path / "base.gguf"
    run_converter(folder, gguf_file, "f32")
    trained_on = convert_gguf(resolve_model(str(gguf_file)), tmp_path / "models-a")
    adapter = make_adapter(tmp_path / "adapter", trained_on, "llama", "lora", scale=0.2)
    meta = json.loads((adapter / "studio.json").read_text())
    meta.update(base_model=str(gguf_file), base_model_path=str(tmp_path / "gone"))
    (adapter / "studio.json").write_text(json.dumps(meta))
    shutil.rmtree(trained_on)
    out = export.export_merged(adapter, tmp_path / "merged", dtype="fp32", models_dir=tmp_path / "models-b")
    record = json.loads((out / verify.VERIFICATION).read_text())
    assert record["verified"], record["reason"]
    assert list((tmp_path / "models-b").iterdir())  # converted into the given models folder


@pytest.mark.parametrize("fmt", ["f32", "bf16", "q8_0", "q4_0", "adapter-only"])
def test_tolerances_are_stated_for_every_format(fmt):
    record = verify.judge(fmt, {"agreement": 1.0, "max_logit_diff": 0.0, "relative_logit_diff": 0.0, "tokens": 5})
    assert record["verified"] and set(record["tolerance"]) == {"min_token_agreement", "max_relative_logit_diff"}
    bad = verify.judge(fmt, {"agreement": 0.1, "max_logit_diff": 9.0, "relative_logit_diff": 0.9, "tokens": 5})
    assert not bad["verified"] and "token agreement" in bad["reason"] and "logit difference" in bad["reason"]


@pytest.mark.parametrize("method,arch", [("prompt", "gpt2"), ("prefix", "gpt2"), ("houlsby", "llama"),
                                         ("pfeiffer", "bert")])
def test_adapter_only_exports_of_non_mergeable_methods_verify(tmp_path, tiny_models, method, arch):
    """Soft prompts prepend virtual positions to the logits; our own methods reload through the studio."""
    adapter = make_adapter(tmp_path / "adapter", tiny_models[arch], arch, method)
    record = json.loads((export.export_adapter_only(adapter, tmp_path / "out") / verify.VERIFICATION).read_text())
    assert record["verified"], record["reason"]
    assert record["agreement"] == 1.0
