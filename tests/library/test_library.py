"""The library keeps rows and folders in step: import (validated), remove, rename, notes, tags, search,
and what a failure or a crash midway leaves behind (nothing)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from studio.library import library
from studio.store import adapters as store
from tests.conftest import studio
from tests.library.conftest import make_adapter


def library_entries(home) -> list[str]:
    """Every entry in the library folder, hidden ones included."""
    return sorted(p.name for p in home.adapters_dir.iterdir()) if home.adapters_dir.exists() else []


def plain_peft_lora(folder: Path, base_dir: Path) -> Path:
    """A LoRA adapter trained the way a plain PEFT script does it (a few AdamW steps), no studio code."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_dir)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    batch = tok(["The quick brown fox jumps over the lazy dog."] * 2, return_tensors="pt")
    for _ in range(5):
        model(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(folder)
    return folder


def test_plain_peft_lora_imports_and_generates_as_in_peft(tmp_path, tiny_models, home, db):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.core.generate import generate, load_with_adapter

    base_dir = tiny_models["llama"]
    src = plain_peft_lora(tmp_path / "plain-lora", base_dir)
    row = library.import_adapter(db, home, src)
    assert (row["name"], row["method"], row["task"], row["source"]) == ("plain-lora", "lora", "causal-lm", "imported")
    assert row["base_model"] == str(base_dir) and row["settings"]["r"] == 4 and row["trainable_params"] == 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4)
    meta = json.loads((Path(row["path"]) / "studio.json").read_text())
    assert meta["method"] == "lora" and meta["base_model_path"] == str(base_dir) and meta["imported_from"] == str(src)
    assert (Path(row["path"]) / "tokenizer.json").is_file()  # copied from the base: the studio loads it there

    listed = json.loads(studio(home, "adapters", "--json", check=True).stdout)
    assert [a["name"] for a in listed] == ["plain-lora"] and listed[0]["settings_text"].startswith("r 4")

    ours, our_tok = load_with_adapter(Path(row["path"]))
    tok = AutoTokenizer.from_pretrained(base_dir)
    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(src)).eval()
    prompt = "Question: what is the capital of France? Answer:"
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = plain.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
        base_logits = AutoModelForCausalLM.from_pretrained(base_dir)(**enc).logits
        assert not torch.allclose(plain(**enc).logits, base_logits)  # the training changed the model
    expected = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    assert generate(ours, our_tok, prompt, max_new_tokens=12) == expected


def test_import_for_another_base_is_refused_naming_shapes(tmp_path, tiny_models, wide_llama, home, db):
    src = make_adapter(tmp_path / "a", tiny_models["llama"], "llama", "lora")
    with pytest.raises(library.ImportRefused) as e:
        library.import_adapter(db, home, src, base=str(wide_llama))
    assert "adapter has (4, 32), base expects (4, 48)" in str(e.value) and str(wide_llama) in str(e.value)
    assert store.list_adapters(db) == [] and library_entries(home) == []


def test_import_keeps_studio_metadata_and_refuses_taken_names(tmp_path, tiny_models, home, db):
    src = make_adapter(tmp_path / "mine", tiny_models["bert"], "bert", "houlsby")
    row = library.import_adapter(db, home, src, name="topics")
    assert (row["method"], row["task"], row["dataset"], row["metrics"]) == (
        "houlsby", "classification", "/data/train.jsonl", {"eval_loss": 1.25})
    assert row["settings"]["size"] == 8 and row["imported_at"] and row["size_bytes"] > 0
    with pytest.raises(ValueError, match="already exists"):
        library.import_adapter(db, home, src, name="topics")
    assert library.import_adapter(db, home, src)["name"] == "mine"
    with pytest.raises(ValueError, match="adapter name"):
        library.import_adapter(db, home, src, name="../escape")
    assert library_entries(home) == ["mine", "topics"]


@pytest.mark.parametrize("step", ["os.replace", "register"])
def test_a_failed_import_leaves_neither_row_nor_files(tmp_path, tiny_models, home, db, monkeypatch, step):
    src = make_adapter(tmp_path / "a", tiny_models["gpt2"], "gpt2", "ia3")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    if step == "os.replace":
        monkeypatch.setattr(library.os, "replace", boom)
    else:
        monkeypatch.setattr(store, "register_adapter", boom)
    with pytest.raises(OSError, match="disk full"):
        library.import_adapter(db, home, src)
    assert store.list_adapters(db) == [] and library_entries(home) == []


def test_remove_deletes_row_and_folder_together(tmp_path, tiny_models, home, db, monkeypatch):
    row = library.import_adapter(db, home, make_adapter(tmp_path / "a", tiny_models["gpt2"], "gpt2", "lora"))
    real_replace = os.replace

    def fail_once(*args):
        monkeypatch.setattr(library.os, "replace", real_replace)
        raise OSError("busy")

    monkeypatch.setattr(library.os, "replace", fail_once)
    with pytest.raises(OSError):
        library.remove_adapter(db, home, "a")
    assert store.get_adapter(db, "a") and Path(row["path"]).is_dir()  # nothing happened
    library.remove_adapter(db, home, "a")
    assert store.list_adapters(db) == [] and library_entries(home) == []
    with pytest.raises(LookupError):
        library.remove_adapter(db, home, "a")


def test_remove_a_row_whose_folder_is_gone(home, db):
    store.register_adapter(db, name="ghost", path=str(home.adapter_dir("ghost")))
    library.remove_adapter(db, home, "ghost")
    assert store.list_adapters(db) == []


def test_rename_moves_folder_and_row(tmp_path, tiny_models, home, db):
    library.import_adapter(db, home, make_adapter(tmp_path / "a", tiny_models["gpt2"], "gpt2", "lora"))
    library.import_adapter(db, home, make_adapter(tmp_path / "b", tiny_models["gpt2"], "gpt2", "bitfit"))
    row = library.rename_adapter(db, home, "a", "chat-v2")
    assert row["path"] == str(home.adapter_dir("chat-v2")) and Path(row["path"]).is_dir()
    assert library_entries(home) == ["b", "chat-v2"]
    with pytest.raises(ValueError, match="already exists"):
        library.rename_adapter(db, home, "chat-v2", "b")
    with pytest.raises(ValueError, match="adapter name"):
        library.rename_adapter(db, home, "chat-v2", "a/b")
    assert library_entries(home) == ["b", "chat-v2"] and store.get_adapter(db, "chat-v2")


def test_notes_tags_and_search(tmp_path, tiny_models, home, db):
    library.import_adapter(db, home, make_adapter(tmp_path / "pirate", tiny_models["llama"], "llama", "lora"))
    library.import_adapter(db, home, make_adapter(tmp_path / "topics", tiny_models["bert"], "bert", "ia3"))
    library.set_tags(db, "pirate", ["chat", " fun ", "chat", ""])
    library.set_notes(db, "topics", "Best so far on MiniLM")
    assert store.get_adapter(db, "pirate")["tags"] == ["chat", "fun"]
    assert [r["name"] for r in library.find(db, search="minilm")] == ["topics"]
    assert [r["name"] for r in library.find(db, search="FUN")] == ["pirate"]
    assert [r["name"] for r in library.find(db, search="q_proj")] == ["pirate"]  # settings text
    assert [r["name"] for r in library.find(db, task="classification")] == ["topics"]
    assert [r["name"] for r in library.find(db, method="lora", tag="chat")] == ["pirate"]
    assert len(library.find(db)) == 2


def test_rows_without_settings_are_filled_from_their_folder(tmp_path, tiny_models, home, db):
    """Adapters registered by the worker carry no settings column: the folder tells."""
    folder = make_adapter(home.adapter_dir("run-1"), tiny_models["gpt2"], "gpt2", "top_k")
    store.register_adapter(db, name="run-1", path=str(folder), method="top_k", task="causal-lm")
    row = library.find(db)[0]
    assert row["settings"] == {"k": 1} and row["settings_text"] == "top 1"
    assert row["dataset"] == "/data/train.jsonl" and row["missing"] is False


def test_recover_settles_what_a_crash_left(tmp_path, tiny_models, home, db):
    dead = 99_999_999  # above any pid_max: never a live process
    kept = library.import_adapter(db, home, make_adapter(tmp_path / "kept", tiny_models["gpt2"], "gpt2", "lora"))
    (home.adapters_dir / f".import-x-{dead}").mkdir()               # a copy interrupted before its rename
    orphan = home.adapters_dir / "orphan"                            # renamed in, the row never committed
    orphan.mkdir()
    (orphan / library.PENDING).write_text("1")
    os.replace(kept["path"], home.adapters_dir / f".trash-kept-{dead}")  # removal: renamed, never committed
    done = library.recover(db, home)
    assert len(done) == 3 and library_entries(home) == ["kept"]
    assert Path(kept["path"]).is_dir() and store.get_adapter(db, "kept")
