"""inspect_data: the wizard's preview of the data as training sees it (in-process, tiny models)."""
from __future__ import annotations

from studio.core.inspect_data import histogram, inspect_data
from tests.conftest import instruction_rows, write_config, write_jsonl


def marked(example: dict) -> list[str]:
    return [example["text"][s:e] for s, e in example["trained"]]


def test_instruction_preview_trains_exactly_the_answers(home, tiny_models, tmp_path):
    rows = instruction_rows(12)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data), "max_length": 128})
    out = inspect_data(cfg, home, n_examples=3)
    assert out["ok"] and out["error"] is None and out["format"] == "instruction"
    assert out["counts"] == {"train": 12, "validation": 0} and out["label_names"] is None
    assert out["columns"] == ["instruction", "input", "output"]
    assert out["column_map"] == {"instruction": "instruction", "output": "output", "input": "input"}
    assert [e["where"] for e in out["examples"]] == [f"{data}:{n}" for n in (1, 2, 3)]
    for example, row in zip(out["examples"], rows):
        # The tiny tokenizer's chat template closes the assistant turn with <|end|>, trained too.
        assert marked(example) == [row["output"] + "<|end|>"]
        assert row["instruction"] in example["text"] and row["instruction"] not in "".join(marked(example))
    assert any("no validation split" in w for w in out["warnings"])


def test_train_on_prompt_and_truncation_show_in_the_spans(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(4))
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]),
                       data={"train": str(data), "max_length": 128, "train_on_prompt": True})
    (example,) = inspect_data(cfg, home, n_examples=1)["examples"]
    assert example["trained"] == [[0, len(example["text"])]]
    # Rows 2-4 are 32 tokens long, row 1 34: at 30 the end of every answer is cut off.
    cut = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data), "max_length": 30})
    out = inspect_data(cut, home, n_examples=4)
    assert out["ok"] and out["lengths"]["over"] == 4 and any("truncated" in w for w in out["warnings"])
    for example, row in zip(out["examples"], instruction_rows(4)):
        assert example["tokens"] > 30
        (trained,) = marked(example)
        full = row["output"] + "<|end|>"
        assert full.startswith(trained) and len(trained) < len(full)


def test_classification_shows_labels_and_trains_no_span(home, tiny_models, tmp_path):
    rows = [{"text": f"item {i}", "label": ["sports", "tech"][i % 2]} for i in range(10)]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = write_config(tmp_path, task="classification", model=str(tiny_models["bert"]),
                       data={"train": str(data), "val_fraction": 0.2})
    out = inspect_data(cfg, home, n_examples=2)
    assert out["ok"] and out["format"] == "classification" and out["label_names"] == ["sports", "tech"]
    assert out["counts"] == {"train": 8, "validation": 2}
    assert all(e["trained"] == [] and e["label"] in ("sports", "tech") for e in out["examples"])
    assert out["examples"][0]["text"].startswith("item ")


def test_broken_file_names_file_and_line_and_still_lists_columns(home, tiny_models, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n{"instruction": \n')
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data)})
    out = inspect_data(cfg, home)
    assert not out["ok"] and out["error"].startswith(f"{data}:3: invalid JSON")
    assert out["examples"] == [] and out["lengths"] is None
    renamed = write_jsonl(tmp_path / "q.jsonl", [{"question": "q", "answer": "a"}] * 3)
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(renamed)})
    out = inspect_data(cfg, home)
    assert not out["ok"] and "cannot tell the example format" in out["error"]
    assert out["columns"] == ["question", "answer"]  # so the wizard can offer a column mapping
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]),
                       data={"train": str(renamed), "format": "completion",
                             "columns": {"prompt": "question", "completion": "answer"}})
    out = inspect_data(cfg, home)
    assert out["ok"] and out["column_map"] == {"prompt": "question", "completion": "answer"}


def test_length_histogram_counts_every_row(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(60))
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data), "max_length": 40})
    lengths = inspect_data(cfg, home, n_examples=0)["lengths"]
    assert sum(lengths["counts"]) == lengths["rows"] == 60  # 54 train + 6 held out
    assert len(lengths["bins"]) == len(lengths["counts"]) + 1 and lengths["max_length"] == 40
    assert lengths["bins"][-1] > lengths["longest"] and lengths["bins"][-1] > 40


def test_histogram_edges_and_overflow():
    h = histogram([1, 5, 10, 10, 30], max_length=8, bins=4)
    assert h["bins"] == [0, 8, 16, 24, 32] and h["counts"] == [2, 2, 0, 1] and h["over"] == 3
    assert histogram([], 16)["rows"] == 0
