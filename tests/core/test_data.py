"""prepare_data: every bad file fails with file + line + a useful word; good files are detected and split."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from studio.config import DataSpec
from studio.core.data import DataError, PreparedData, prepare_data

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"
EXPECTED = json.loads((BAD / "EXPECTED.json").read_text(encoding="utf-8"))


def prepare(path: Path | str, task: str = "causal-lm", seed: int = 0, **kw) -> PreparedData:
    return prepare_data(DataSpec(train=str(path), **kw), task, seed)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_bad_file_is_listed_in_expected() -> None:
    files = {p.name for p in BAD.iterdir() if p.name != "EXPECTED.json"}
    assert files == set(EXPECTED)
    assert len(files) >= 18
    assert all(name.startswith(("cls_", "lm_")) for name in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file(name: str) -> None:
    path = BAD / name
    task = "classification" if name.startswith("cls_") else "causal-lm"
    with pytest.raises(DataError) as info:
        prepare(path, task)
    err, want = info.value, EXPECTED[name]
    assert err.file == str(path)
    assert err.line == want["line"]
    text = str(err)
    if want["line"] is None:
        assert text.startswith(f"{path}: ")
    else:
        assert text.startswith(f"{path}:{want['line']}: ")
    assert want["word"] in text
    assert isinstance(err, ValueError)


def test_missing_file_and_hub_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match="file not found"):
        prepare(tmp_path / "nope.jsonl")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="does not exist.*hub could not be reached") as info:
        prepare("someone/some-dataset")
    assert str(info.value).startswith("someone/some-dataset: ")


def test_hub_dataset_is_loaded_with_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []

    def fake_load(name: str, split: str) -> datasets.Dataset:
        calls.append((name, split))
        return datasets.Dataset.from_list([{"text": "a"}, {"text": ""}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    with pytest.raises(DataError) as info:
        prepare("owner/name")
    assert calls == [("owner/name", "train")]
    assert str(info.value) == "owner/name: row 2: 'text' is empty"

    def failing_load(name: str, split: str) -> None:
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", failing_load)
    with pytest.raises(DataError, match="does not exist.*hub could not be reached.*no network"):
        prepare("owner/name")


def test_error_str_and_pickle() -> None:
    err = DataError("/d/x.jsonl", 3, "bad")
    assert str(err) == "/d/x.jsonl:3: bad"
    assert str(DataError("/d/x.jsonl", None, "bad")) == "/d/x.jsonl: bad"
    assert str(DataError("/d/x.parquet", 3, "bad", unit="row")) == "/d/x.parquet: row 3: bad"
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.line, again.message, str(again)) == (err.file, 3, "bad", str(err))


def test_text_jsonl() -> None:
    data = prepare(GOOD / "text.jsonl")
    assert data.format == "text"
    assert data.train[0] == {"text": "The quick brown fox jumps over the lazy dog."}
    assert data.validation is None and data.label_names is None
    assert data.source_lines["train"] == [f"{GOOD / 'text.jsonl'}:{n}" for n in (1, 2, 3)]
    assert any("no validation split" in w for w in data.warnings)


def test_instruction_json_with_data_key_keeps_lines() -> None:
    data = prepare(GOOD / "instruction.json")
    assert data.format == "instruction"
    assert data.train == [
        {"instruction": "Add the numbers.", "input": "2 + 3", "output": "5"},
        {"instruction": "What is the capital of France?", "input": "", "output": "Paris."},
        {"instruction": "Say hello.", "input": "", "output": "Hello!"},
    ]
    lines = [int(loc.rsplit(":", 1)[1]) for loc in data.source_lines["train"]]
    text = (GOOD / "instruction.json").read_text().split("\n")
    assert [text[n - 1].strip() for n in lines] == ["{"] * 3
    assert lines == sorted(lines) and lines[0] == 3


def test_chat_and_completion() -> None:
    chat = prepare(GOOD / "chat.jsonl")
    assert chat.format == "chat"
    assert chat.train[1]["messages"][-1] == {"role": "assistant", "content": "6"}
    comp = prepare(GOOD / "completion.jsonl")
    assert comp.format == "completion"
    assert comp.train[1] == {"prompt": "2 + 2 =", "completion": " 4"}


def test_classification_jsonl_labels_sorted() -> None:
    data = prepare(GOOD / "classification.jsonl", "classification")
    assert data.format == "classification"
    assert data.label_names == ["negative", "neutral", "positive"]
    assert data.train[0] == {"text": "I loved this film", "label": "positive"}


def test_pairs_keep_text_pair() -> None:
    data = prepare(GOOD / "pairs.jsonl", "classification")
    assert data.train[0] == {"text": "A man is eating.", "text_pair": "Someone eats.", "label": "entailment"}


def test_csv_with_column_map_quotes_and_numeric_labels() -> None:
    path = GOOD / "classification.csv"
    data = prepare(path, "classification", columns={"text": "sentence"})
    assert [r["text"] for r in data.train] == ["Great, really great", "terrible", 'It said "fine"', "awful"]
    assert data.label_names == ["0", "1"]
    assert data.source_lines["train"][0] == f"{path}:2"


def test_csv_multiline_record_is_named_by_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('text,label\n"two\nlines",a\nok,b\n,a\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        prepare(path, "classification")
    assert info.value.line == 5 and "empty" in str(info.value)


def test_txt_paragraphs() -> None:
    data = prepare(GOOD / "text.txt")
    assert data.format == "text"
    assert [r["text"] for r in data.train] == [
        "The first paragraph\nspans two lines.", "The second paragraph.", "The third."]
    assert [s.rsplit(":", 1)[1] for s in data.source_lines["train"]] == ["1", "5", "7"]


def test_parquet_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "chat.parquet"
    messages = [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]] * 3
    pq.write_table(pa.table({"messages": messages}), path)
    data = prepare(path)
    assert data.format == "chat" and data.train[0]["messages"][1]["content"] == "hello"
    assert data.source_lines["train"][2] == f"{path} row 3"
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": ["a", "b", ""], "label": [1, 0, 1]}), bad)
    with pytest.raises(DataError) as info:
        prepare(bad, "classification")
    assert str(info.value) == f"{bad}: row 3: 'text' is empty"


def test_int_labels_keep_numeric_order(tmp_path: Path) -> None:
    rows = [{"text": f"t{i}", "label": lab} for i, lab in enumerate([10, 2, 1, 2, 10, 1])]
    data = prepare(write_jsonl(tmp_path / "c.jsonl", rows), "classification")
    assert data.label_names == ["1", "2", "10"]
    assert data.train[0]["label"] == "10"


def test_column_map_to_missing_column(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"body": "x"}])
    with pytest.raises(DataError, match="no column 'sentence'; found 'body'"):
        prepare(path, columns={"text": "sentence"})
    assert prepare(path, columns={"text": "body"}).train == [{"text": "x"}]


def test_format_must_fit_task(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "x", "label": "a"}, {"text": "y", "label": "b"}])
    with pytest.raises(DataError, match="does not fit task classification"):
        prepare(path, "classification", format="text")
    data = prepare(path, "causal-lm")
    assert data.format == "text" and any("ignored columns" in w and "label" in w for w in data.warnings)
    with pytest.raises(DataError, match="no column 'messages'"):
        prepare(path, "causal-lm", format="chat")


def test_unknown_columns_name_the_formats(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"foo": "x", "bar": "y"}])
    with pytest.raises(DataError, match="cannot tell the example format.*chat \\(messages\\)"):
        prepare(path)


def lm_rows(n: int) -> list[dict]:
    return [{"text": f"row {i}"} for i in range(n)]


def test_default_val_fraction(tmp_path: Path) -> None:
    small = prepare(write_jsonl(tmp_path / "s.jsonl", lm_rows(50)))
    assert small.validation is None and len(small.train) == 50
    big = prepare(write_jsonl(tmp_path / "b.jsonl", lm_rows(200)))
    assert len(big.validation) == 20 and len(big.train) == 180
    seen = {r["text"] for r in big.train} | {r["text"] for r in big.validation}
    assert seen == {f"row {i}" for i in range(200)}
    # train keeps file order; source lines follow the rows
    assert big.train == sorted(big.train, key=lambda r: int(r["text"].split()[1]))
    for row, loc in zip(big.validation, big.source_lines["validation"]):
        assert int(loc.rsplit(":", 1)[1]) == int(row["text"].split()[1]) + 1


def test_split_is_seeded(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "b.jsonl", lm_rows(100))
    a, b, c = prepare(path, seed=1), prepare(path, seed=1), prepare(path, seed=2)
    assert a.validation == b.validation
    assert a.validation != c.validation
    assert len(prepare(path, val_fraction=0.25).validation) == 25


def test_explicit_fraction_on_small_file(tmp_path: Path) -> None:
    data = prepare(write_jsonl(tmp_path / "s.jsonl", lm_rows(10)), val_fraction=0.2)
    assert len(data.validation) == 2 and len(data.train) == 8


def test_stratified_split(tmp_path: Path) -> None:
    labels = ["a"] * 80 + ["b"] * 15 + ["c"] * 4 + ["d"]
    rows = [{"text": f"t{i}", "label": lab} for i, lab in enumerate(labels)]
    data = prepare(write_jsonl(tmp_path / "c.jsonl", rows), "classification", val_fraction=0.1)
    val = [r["label"] for r in data.validation]
    assert val.count("a") == 8 and val.count("b") == 2 and val.count("c") == 1 and "d" not in val
    assert {r["label"] for r in data.train} == {"a", "b", "c", "d"}
    assert any("'d' has only 1 row" in w for w in data.warnings)


def test_explicit_validation_file(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "t.jsonl", [{"text": "x", "label": 0}, {"text": "y", "label": 1}] * 40)
    val = write_jsonl(tmp_path / "v.jsonl", [{"text": "z", "label": 1}, {"text": "w", "label": 0}])
    data = prepare(train, "classification", validation=str(val))
    assert len(data.train) == 80 and data.validation == [{"text": "z", "label": "1"}, {"text": "w", "label": "0"}]
    assert data.source_lines["validation"] == [f"{val}:1", f"{val}:2"]
    unseen = write_jsonl(tmp_path / "u.jsonl", [{"text": "z", "label": 1}, {"text": "w", "label": 7}])
    with pytest.raises(DataError) as info:
        prepare(train, "classification", validation=str(unseen))
    assert str(info.value).startswith(f"{unseen}:2: label '7' does not occur in the training data")


def test_validation_file_is_checked_like_train(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "t.jsonl", lm_rows(5))
    with pytest.raises(DataError) as info:
        prepare(train, validation=str(BAD / "lm_malformed_mid.jsonl"))
    assert info.value.file == str(BAD / "lm_malformed_mid.jsonl") and info.value.line == 4
