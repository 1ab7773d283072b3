"""`studio models`: the same entries and facts as the Models page, for scripts (--json)."""
from __future__ import annotations

import json

from studio.store import model_folders, open_db
from tests.conftest import studio


def test_models_json_lists_samples_and_added_folders(home, tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    studio(home, "models", "--add", str(tiny_models["gpt2"]), check=True)
    db = open_db(home.db_path)
    assert model_folders.list_folders(db) == [tiny_models["gpt2"]]
    db.conn.close()
    rows = {r["ref"]: r for r in json.loads(studio(home, "models", "--json", check=True).stdout)}
    assert set(rows) == {"sample:minilm", "sample:smollm2", str(tiny_models["gpt2"])}
    gpt2 = rows[str(tiny_models["gpt2"])]
    assert gpt2["source"] == "folder" and gpt2["name"] == "gpt2"
    assert gpt2["facts"]["params"] == 42_368 and gpt2["facts"]["architecture"] == "GPT2LMHeadModel"
    assert rows["sample:smollm2"]["facts"]["params"] == 134_515_008
    text = studio(home, "models", check=True).stdout
    assert "GPT2LMHeadModel" in text and "42,368" in text
    studio(home, "models", "--remove", str(tiny_models["gpt2"]), check=True)
    rows = json.loads(studio(home, "models", "--json", check=True).stdout)
    assert str(tiny_models["gpt2"]) not in {r["ref"] for r in rows}


def test_models_refuses_unknown_folders(home, tmp_path):
    proc = studio(home, "models", "--add", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "no such folder" in proc.stderr
    proc = studio(home, "models", "--remove", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "not a remembered folder" in proc.stderr
