"""Preference data: pairs and KTO rows detected, bad rows named by file:line, rendered for TRL."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from studio.config import DataSpec
from studio.core.data import prepare_data
from studio.core.formats import DataError
from studio.core.preference_data import preference_dataset, render_preference
from studio.core.preference_rows import prepare_preference
from tests.conftest import write_jsonl
from tests.tiny import tiny_tokenizer

PAIR = {"prompt": "Greet a sailor.", "chosen": "Ahoy, matey!", "rejected": "Hello."}
KTO_ROW = {"prompt": "Greet a sailor.", "completion": "Ahoy!", "label": True}


def prep(path, loss=None, **spec):
    return prepare_preference(DataSpec(train=str(path), **spec), seed=0, loss=loss)


def test_pairs_and_kto_rows_are_detected_from_their_columns(tmp_path):
    pairs = prep(write_jsonl(tmp_path / "p.jsonl", [PAIR, {**PAIR, "chosen": "Arr!"}]))
    kto = prep(write_jsonl(tmp_path / "k.jsonl", [KTO_ROW, {**KTO_ROW, "label": False}]))
    assert (pairs.format, pairs.train[0]) == ("preference", PAIR)
    assert (kto.format, kto.train[1]["label"]) == ("kto", False)
    # prepare_data (what `studio train` and the wizard validate with) takes the same path.
    assert prepare_data(DataSpec(train=str(tmp_path / "p.jsonl")), "preference", 0).format == "preference"


@pytest.mark.parametrize("bad, message", [
    ({"prompt": "Q", "chosen": "A"}, "no 'rejected' answer"),
    ({"prompt": "Q", "chosen": "A", "rejected": None}, "no 'rejected' answer"),
    ({"prompt": "Q", "chosen": "Same.", "rejected": " Same."}, "'chosen' and 'rejected' are identical"),
    ({"prompt": "  ", "chosen": "A", "rejected": "B"}, "'prompt' is empty"),
    ({"prompt": "Q", "chosen": "", "rejected": "B"}, "'chosen' is empty"),
    ({"prompt": "Q", "chosen": 3, "rejected": "B"}, "'chosen' must be a text or a non-empty list"),
    ({"chosen": "A", "rejected": "B"}, "plain-text chosen/rejected answers need a prompt column"),
    ({"prompt": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "x"}], "chosen": "A",
      "rejected": "B"}, "'prompt' ends with an assistant turn"),
])
def test_a_bad_pair_is_named_by_file_and_line(tmp_path, bad, message):
    path = write_jsonl(tmp_path / "p.jsonl", [PAIR, PAIR | {"chosen": "Arr"}, bad])
    with pytest.raises(DataError, match=message) as err:
        prep(path)
    assert str(err.value).startswith(f"{path}:3: ")


@pytest.mark.parametrize("label", [1, "yes", None, [True]])
def test_a_kto_label_must_be_true_or_false(tmp_path, label):
    path = write_jsonl(tmp_path / "k.jsonl", [KTO_ROW, {**KTO_ROW, "label": label}])
    with pytest.raises(DataError, match=r"k.jsonl:2: .*'label'") as err:
        prep(path)
    assert "true" in str(err.value) or "label" in str(err.value)


def test_csv_labels_spelled_true_and_false_are_booleans(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("prompt,completion,label\nQ,Good,TRUE\nQ,Bad,false\n", encoding="utf-8")
    assert [r["label"] for r in prep(path).train] == [True, False]


def test_a_kto_file_is_refused_for_dpo_and_orpo_and_pairs_are_unpaired_for_kto(tmp_path):
    kto = write_jsonl(tmp_path / "k.jsonl", [KTO_ROW, {**KTO_ROW, "label": False}])
    for loss in ("dpo", "orpo"):
        with pytest.raises(DataError, match=f"a KTO file .*loss {loss} needs pairs"):
            prep(kto, loss)
    pairs = prep(write_jsonl(tmp_path / "p.jsonl", [PAIR]), "kto")
    assert pairs.format == "kto" and [(r["completion"], r["label"]) for r in pairs.train] == \
        [("Ahoy, matey!", True), ("Hello.", False)]
    assert pairs.source_lines["train"] == [f"{tmp_path / 'p.jsonl'}:1"] * 2
    assert any("each pair became one desirable" in w for w in pairs.warnings)


def test_conversations_without_prompt_share_their_first_turns_as_the_prompt(tmp_path):
    user = {"role": "user", "content": "Greet a sailor."}
    row = {"chosen": [user, {"role": "assistant", "content": "Ahoy!"}],
           "rejected": [user, {"role": "assistant", "content": "Hello."}]}
    other = {"chosen": [{"role": "user", "content": "A"}, {"role": "assistant", "content": "x"}],
             "rejected": [{"role": "user", "content": "B"}, {"role": "assistant", "content": "y"}]}
    data = prep(write_jsonl(tmp_path / "c.jsonl", [row]))
    assert data.train[0] == {"prompt": [user], "chosen": [{"role": "assistant", "content": "Ahoy!"}],
                             "rejected": [{"role": "assistant", "content": "Hello."}]}
    with pytest.raises(DataError, match=r"c2.jsonl:2: empty prompt"):
        prep(write_jsonl(tmp_path / "c2.jsonl", [row, other]))


def test_rendered_with_the_chat_template_prompt_ends_at_the_generation_prompt_answers_with_eos():
    tok = tiny_tokenizer()
    item = render_preference(PAIR, "preference", tok)
    assert item.prompt == "<|user|>Greet a sailor.<|end|>\n<|assistant|>"
    assert item.answers == {"chosen": "Ahoy, matey!<|end|></s>", "rejected": "Hello.<|end|></s>"}
    # The prompt + answer is exactly what the template renders for the whole conversation.
    full = tok.apply_chat_template([{"role": "user", "content": PAIR["prompt"]},
                                    {"role": "assistant", "content": "Ahoy, matey!"}], tokenize=False)
    assert (item.prompt + item.answers["chosen"]).startswith(full.rstrip())


def test_without_a_chat_template_texts_are_joined_as_they_are():
    tok = tiny_tokenizer()
    tok.chat_template = None
    item = render_preference(KTO_ROW, "kto", tok)
    assert (item.prompt, item.answers, item.label) == ("Greet a sailor.", {"completion": "Ahoy!</s>"}, True)


def test_preference_dataset_splits_like_other_tasks_and_returns_string_columns(tmp_path):
    rows = [{"prompt": f"Q{i}", "chosen": f"Arr {i}", "rejected": f"Hi {i}"} for i in range(60)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    cfg = SimpleNamespace(data=DataSpec(train=str(path)), training=SimpleNamespace(seed=0),
                          preference=SimpleNamespace(loss="dpo"))
    train, val = preference_dataset(cfg, tiny_tokenizer())
    assert (len(train), len(val)) == (54, 6) and train.column_names == ["prompt", "chosen", "rejected"]
    assert all(c.endswith("</s>") for c in list(train["chosen"]) + list(val["rejected"]))
    kto = write_jsonl(tmp_path / "k.jsonl", [KTO_ROW, {**KTO_ROW, "label": False}])
    cfg.data, cfg.preference.loss = DataSpec(train=str(kto)), "kto"
    train, val = preference_dataset(cfg, tiny_tokenizer())
    assert val is None and train.column_names == ["prompt", "completion", "label"]
    assert list(train["label"]) == [True, False]


def test_a_json_file_may_mix_texts_and_messages(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([PAIR, {**PAIR, "rejected": [{"role": "assistant", "content": "Hi."}]}]))
    data = prep(path)
    assert data.train[1]["prompt"] == [{"role": "user", "content": PAIR["prompt"]}]
    assert data.train[1]["chosen"] == [{"role": "assistant", "content": PAIR["chosen"]}]


def test_the_config_check_refuses_a_kto_file_for_dpo_before_any_run(tmp_path, tiny_models):
    from studio.core.config_check import SubmitError, load_and_check
    from tests.conftest import write_config

    kto = write_jsonl(tmp_path / "k.jsonl", [KTO_ROW, {**KTO_ROW, "label": False}])
    cfg = write_config(tmp_path, task="preference", model=str(tiny_models["gpt2"]), preference={"loss": "dpo"},
                       data={"train": str(kto)})
    with pytest.raises(SubmitError, match=f"{kto}: a KTO file .*loss dpo needs pairs"):
        load_and_check(cfg)
    _, data = load_and_check(write_config(tmp_path, task="preference", model=str(tiny_models["gpt2"]),
                                          preference={"loss": "kto"}, data={"train": str(kto)}))
    assert data.format == "kto" and len(data.train) == 2
