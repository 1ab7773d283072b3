"""inspect-data on preference files: chosen and rejected after their prompt with the answers marked as
trained, KTO answers with their label, lengths over prompt + longer answer, the loss checked."""
from __future__ import annotations

import pytest

from studio.core.inspect_data import inspect_data
from tests.conftest import studio, write_config, write_jsonl

PAIRS = [{"prompt": f"Greet sailor {i}.", "chosen": f"Ahoy, matey number {i}!", "rejected": "Hello."}
         for i in range(4)]


def config(tmp_path, model, rows, loss="dpo", **data):
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    return write_config(tmp_path, task="preference", model=str(model), preference={"loss": loss},
                        data={"train": str(path), "max_length": 128, **data}), path


def test_pairs_show_both_answers_after_the_prompt_with_the_answers_trained(home, tiny_models, tmp_path):
    cfg, path = config(tmp_path, tiny_models["gpt2"], PAIRS)
    out = inspect_data(cfg, home, n_examples=2)
    assert out["ok"] and out["error"] is None and out["format"] == "preference"
    assert out["counts"] == {"train": 4, "validation": 0}
    assert out["column_map"] == {"chosen": "chosen", "rejected": "rejected", "prompt": "prompt"}
    first = out["examples"][0]
    assert (first["kind"], first["where"], first["label"]) == ("preference", f"{path}:1", None)
    assert first["prompt"] == "<|user|>Greet sailor 0.<|end|>\n<|assistant|>"
    for side in ("chosen", "rejected"):
        assert first[side].startswith(first["prompt"])
        (start, end), = first["trained"][side]
        assert first[side][start:end] == PAIRS[0][side] + "<|end|></s>"
    assert out["lengths"]["rows"] == 4 and out["lengths"]["longest"] == first["tokens"] > 0


def test_truncation_cuts_the_trained_span_and_warns(home, tiny_models, tmp_path):
    cfg, _ = config(tmp_path, tiny_models["gpt2"], PAIRS, max_length=35)
    out = inspect_data(cfg, home, n_examples=1)
    (start, end), = out["examples"][0]["trained"]["chosen"]
    assert end - start < len(PAIRS[0]["chosen"]) and out["lengths"]["over"] == 4
    assert any("4 of 4 pairs are longer than max_length=35" in w for w in out["warnings"])


def test_kto_rows_show_their_answer_and_label_and_a_kto_file_is_refused_for_dpo(home, tiny_models, tmp_path):
    rows = [{"prompt": "Greet a sailor.", "completion": "Ahoy!", "label": True},
            {"prompt": "Greet a sailor.", "completion": "Go away.", "label": False}]
    cfg, _ = config(tmp_path, tiny_models["gpt2"], rows, loss="kto")
    out = inspect_data(cfg, home)
    assert out["ok"] and [(e["label"], "chosen" in e) for e in out["examples"]] == [(True, False), (False, False)]
    (start, end), = out["examples"][1]["trained"]["completion"]
    assert out["examples"][1]["completion"][start:end] == "Go away.<|end|></s>"
    refused = inspect_data(config(tmp_path, tiny_models["gpt2"], rows, loss="dpo")[0], home)
    assert not refused["ok"] and "loss dpo needs pairs" in refused["error"]


@pytest.mark.slow  # a `studio` child process loading transformers
def test_cli_prints_chosen_and_rejected_with_trained_text_marked(home, tiny_models, tmp_path):
    cfg, path = config(tmp_path, tiny_models["gpt2"], PAIRS[:1])
    proc = studio(home, "inspect-data", str(cfg), check=True)
    assert "format preference: 1 training rows" in proc.stdout
    assert "[chosen]\n<|user|>Greet sailor 0.<|end|>\n<|assistant|>[[Ahoy, matey number 0!<|end|></s>]]" \
        in proc.stdout
    assert "[rejected]" in proc.stdout and "[[Hello.<|end|></s>]]" in proc.stdout
