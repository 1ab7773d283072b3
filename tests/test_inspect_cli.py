"""`studio inspect-data` through the real CLI, as the wizard calls it (JSON only on stdout)."""
from __future__ import annotations

import json

from tests.conftest import instruction_rows, studio, write_config, write_jsonl


def test_inspect_data_json_and_text(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(8))
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data), "max_length": 128})
    out = json.loads(studio(home, "inspect-data", str(cfg), "--json", "--examples", "2", check=True).stdout)
    assert out["ok"] and out["format"] == "instruction" and out["counts"]["train"] == 8
    assert len(out["examples"]) == 2 and sum(out["lengths"]["counts"]) == 8
    ex = out["examples"][0]
    assert [ex["text"][s:e] for s, e in ex["trained"]] == ["The answer is 0.<|end|>"]

    broken = tmp_path / "bad.jsonl"
    broken.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n')
    bad_cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(broken)})
    proc = studio(home, "inspect-data", str(bad_cfg), "--json")
    assert proc.returncode == 0  # the JSON carries the verdict
    bad = json.loads(proc.stdout)
    assert not bad["ok"] and bad["error"].startswith(f"{broken}:2: ") and "'output'" in bad["error"]
    text = studio(home, "inspect-data", str(bad_cfg))
    assert text.returncode == 2 and f"{broken}:2: " in text.stderr
