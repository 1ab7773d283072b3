"""`studio compare` as the GUI and scripts call it: grid + eval as JSON, stored, reopened, rated, exported."""
from __future__ import annotations

import csv
import io
import json

from bench.compare import make_adapter
from studio.store.adapters import register_adapter
from studio.store.db import open_db
from tests.conftest import instruction_rows, studio, write_jsonl


def test_compare_prints_the_grid_stores_it_and_reopens_rates_and_exports(home, tiny_models, tmp_path):
    base = tiny_models["gpt2"]
    lora = make_adapter(base, tmp_path / "lora", "lora", scale=0.5)
    houlsby = make_adapter(base, tmp_path / "houlsby", "houlsby", options={"size": 8}, scale=0.5, seed=1)
    db = open_db(home.db_path)
    register_adapter(db, name="my-lora", path=lora, method="lora", base_model=str(base), task="causal-lm")
    db.conn.close()
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("The quick brown fox\n\nWhat is the capital of France?\n")
    held = write_jsonl(tmp_path / "held.jsonl", instruction_rows(4))

    proc = studio(home, "compare", "--base", str(base), "--adapter", "my-lora", "--adapter", str(houlsby),
                  "--prompts", str(prompts), "--eval", str(held), "--max-new-tokens", "5", "--name", "t",
                  "--device", "cpu", "--json", check=True)
    c = json.loads(proc.stdout)  # JSON only on stdout
    assert c["adapters"] == ["base", "my-lora", "houlsby"]  # N + 1 columns
    assert c["prompts"] == ["The quick brown fox", "What is the capital of France?"]
    rows = c["results"]["rows"]
    assert [list(r["outputs"]) for r in rows] == [c["adapters"]] * 2
    assert c["results"]["timings"]["base_loads"] == 1
    assert set(c["results"]["eval"]["metrics"]) == set(c["adapters"])
    assert all(m["perplexity"] > 1 for m in c["results"]["eval"]["metrics"].values())
    assert c["settings"]["max_new_tokens"] == 5 and c["settings"]["sample"] is False
    assert c["adapter_paths"] == {"my-lora": str(lora), "houlsby": str(houlsby)}

    shown = json.loads(studio(home, "compare", "--show", str(c["id"]), "--json", check=True).stdout)
    assert shown == c
    listed = json.loads(studio(home, "compare", "--list", "--json", check=True).stdout)
    assert [(r["id"], r["name"], r["n_prompts"]) for r in listed] == [(c["id"], "t", 2)]

    studio(home, "compare", "--rate", str(c["id"]), "2", "houlsby", "4", check=True)
    bad = studio(home, "compare", "--rate", str(c["id"]), "3", "houlsby", "4")
    assert bad.returncode == 2 and "rows 1-2" in bad.stderr
    out_csv, out_md = tmp_path / "c.csv", tmp_path / "c.md"
    studio(home, "compare", "--export", str(c["id"]), "--format", "csv", str(out_csv), check=True)
    studio(home, "compare", "--export", str(c["id"]), str(out_md), check=True)  # format from the suffix
    table = list(csv.reader(io.StringIO(out_csv.read_text())))
    assert table[0][:5] == ["#", "prompt", "base", "my-lora", "houlsby"]
    assert table[2][1] == "What is the capital of France?" and table[2][-1] == "4"
    assert table[2][2:5] == [rows[1]["outputs"][k] for k in c["adapters"]]
    assert "| # | prompt | base | my-lora | houlsby |" in out_md.read_text()

    text = studio(home, "compare", "--show", str(c["id"]), check=True).stdout
    assert "my-lora" in text and "eval_loss" in text and "★4" in text


def test_compare_refuses_an_adapter_of_another_base_before_loading_anything(home, tiny_models, tmp_path):
    other = make_adapter(tiny_models["llama"], tmp_path / "llama-lora", "lora")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "hi"}) + "\n")
    proc = studio(home, "compare", "--base", str(tiny_models["gpt2"]), "--adapter", str(other),
                  "--prompts", str(prompts))
    assert proc.returncode == 2
    assert "'llama-lora' was trained on" in proc.stderr and "not on --base" in proc.stderr
    missing = studio(home, "compare", "--base", str(tiny_models["gpt2"]), "--adapter", "nope",
                     "--prompts", str(prompts))
    assert missing.returncode == 2 and "no adapter of that name in the library" in missing.stderr
    assert json.loads(studio(home, "compare", "--list", "--json", check=True).stdout) == []
