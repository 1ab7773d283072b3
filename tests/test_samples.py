"""The bundled sample datasets (studio/resources/samples): present, well-formed, balanced,
in the promised pirate style, arithmetically correct, and reproducible by their generator."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "studio" / "resources" / "samples"
GENERATED = ["topics.jsonl", "pirate_instructions.jsonl", "pirate_eval_prompts.txt", "rankings.jsonl", "README.md"]
LABELS = {"sports", "technology", "food", "weather"}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
]


def _jsonl(name: str) -> list[dict]:
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), f"blank line in {name}"
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def topics() -> list[dict]:
    return _jsonl("topics.jsonl")


@pytest.fixture(scope="module")
def pirate() -> list[dict]:
    return _jsonl("pirate_instructions.jsonl")


@pytest.fixture(scope="module")
def eval_prompts() -> list[str]:
    return (SAMPLES / "pirate_eval_prompts.txt").read_text(encoding="utf-8").splitlines()


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    old, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in package data
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = old
    return module


# --- files ------------------------------------------------------------------
def test_files_exist():
    for name in GENERATED + ["make_samples.py"]:
        assert (SAMPLES / name).is_file(), name


# --- topics -----------------------------------------------------------------
def test_topics_shape_and_balance(topics):
    assert len(topics) >= 600
    for row in topics:
        assert set(row) == {"text", "label"}
        assert row["label"] in LABELS
        assert 5 <= len(row["text"].split()) <= 20, row
    counts = Counter(row["label"] for row in topics)
    assert set(counts) == LABELS
    quarter = len(topics) / 4
    for label, n in counts.items():
        assert abs(n - quarter) <= 0.05 * quarter, (label, n)


def test_topics_no_duplicates(topics):
    texts = [row["text"] for row in topics]
    assert len(set(texts)) == len(texts)


def test_topics_are_shuffled(topics):
    # Not sorted by label: the first 50 lines already hold every label.
    assert {row["label"] for row in topics[:50]} == LABELS


def test_topics_share_everyday_words_across_labels(topics):
    # Names, cities and days occur in every class, so they are no label giveaway.
    for word in ["Monday", "Lisbon", "Maria"]:
        labels = {row["label"] for row in topics if word in row["text"]}
        assert len(labels) >= 3, (word, labels)


# --- pirate instructions ----------------------------------------------------
def test_pirate_shape(pirate):
    assert len(pirate) >= 200
    for row in pirate:
        assert set(row) == {"instruction", "input", "output"}
        assert row["instruction"].strip() and isinstance(row["input"], str)


def test_pirate_no_duplicate_instructions(pirate):
    instructions = [row["instruction"] for row in pirate]
    assert len(set(instructions)) == len(instructions)


def test_pirate_style(pirate):
    for row in pirate:
        out = row["output"]
        assert out.startswith("Arr! "), out
        assert out.endswith(" Yo-ho-ho!"), out
        assert len(out.split()) <= 30, out
        assert "matey" in out, out
    # Pirate grammar throughout: "be" for is, "ye"/"yer" for you/your in many answers.
    assert sum(" be " in row["output"] for row in pirate) >= 0.6 * len(pirate)
    assert sum(re.search(r"\bye[r]?\b", row["output"]) is not None for row in pirate) >= 30


ARITHMETIC = [
    (re.compile(r"^What is (\d+) plus (\d+)\?$"), lambda a, b: a + b),
    (re.compile(r"^What is (\d+) \+ (\d+)\?$"), lambda a, b: a + b),
    (re.compile(r"^Add (\d+) and (\d+)\.$"), lambda a, b: a + b),
    (re.compile(r"^What is (\d+) minus (\d+)\?$"), lambda a, b: a - b),
    (re.compile(r"^What is (\d+) - (\d+)\?$"), lambda a, b: a - b),
    (re.compile(r"^Subtract (\d+) from (\d+)\.$"), lambda a, b: b - a),
    (re.compile(r"^What is (\d+) times (\d+)\?$"), lambda a, b: a * b),
    (re.compile(r"^What is (\d+) x (\d+)\?$"), lambda a, b: a * b),
    (re.compile(r"^Multiply (\d+) by (\d+)\.$"), lambda a, b: a * b),
]


def _expected_result(instruction: str) -> int | None:
    for pattern, op in ARITHMETIC:
        m = pattern.match(instruction)
        if m:
            return op(int(m.group(1)), int(m.group(2)))
    return None


def test_pirate_arithmetic_is_correct(pirate):
    checked = 0
    for row in pirate:
        if not re.search(r"\d", row["instruction"]):
            continue
        expected = _expected_result(row["instruction"])
        assert expected is not None, f"unrecognised arithmetic question: {row['instruction']!r}"
        numbers = [int(n) for n in re.findall(r"\d+", row["output"])]
        assert numbers and numbers[-1] == expected, row  # the result is the last number said
        assert expected >= 0
        checked += 1
    assert checked >= 30


def test_pirate_letter_counts_are_correct(pirate):
    checked = 0
    for row in pirate:
        if "letters" not in row["instruction"]:
            continue
        m = re.search(r"'([a-z]+)'", row["instruction"])
        word = m.group(1) if m else row["input"]
        assert word.isalpha(), row
        numbers = [int(n) for n in re.findall(r"\d+", row["output"])]
        assert numbers and numbers[-1] == len(word), row
        checked += 1
    assert checked >= 10


def test_pirate_upper_case_is_correct(pirate):
    checked = 0
    for row in pirate:
        ins = row["instruction"].lower()
        if "upper case" not in ins and "capitals" not in ins:
            continue
        m = re.search(r"'([a-z]+)'", row["instruction"])
        word = m.group(1) if m else row["input"]
        assert word and word.upper() in row["output"], row
        checked += 1
    assert checked >= 10


def test_pirate_days_and_months_are_correct(pirate):
    checked = 0
    for row in pirate:
        m = re.match(r"^What (day|month) comes (after|before) (\w+)\?$", row["instruction"])
        if not m:
            continue
        seq = DAYS if m.group(1) == "day" else MONTHS
        i = seq.index(m.group(3))
        expected = seq[(i + 1) % len(seq)] if m.group(2) == "after" else seq[i - 1]
        assert expected in row["output"], row
        checked += 1
    assert checked >= 10


def test_pirate_capitals_spot_check(pirate):
    by_instruction = {row["instruction"]: row["output"] for row in pirate}
    facts = {"France": "Paris", "Germany": "Berlin", "Canada": "Ottawa", "Australia": "Canberra"}
    for country, city in facts.items():
        answers = [out for ins, out in by_instruction.items() if ins.endswith(f" {country}?") or ins.endswith(f" {country}.")]
        assert answers and all(city in a for a in answers), country


# --- rankings (the hard classification sample) ------------------------------
@pytest.fixture(scope="module")
def rankings() -> list[dict]:
    return _jsonl("rankings.jsonl")


def test_rankings_balanced_unique_and_small(rankings):
    counts = Counter(r["label"] for r in rankings)
    assert len(counts) == 6 and set(counts.values()) == {500}
    assert len({r["text"] for r in rankings}) == len(rankings)
    assert (SAMPLES / "rankings.jsonl").stat().st_size < 1_000_000


def test_rankings_label_is_the_finishing_order_and_each_name_appears_once(rankings):
    for row in rankings:
        names = row["label"].split("-")
        assert sorted(names) == ["lena", "maya", "omar"], row
        words = re.findall(r"[a-z]+", row["text"].lower())
        assert all(words.count(n) == 1 for n in names), row


def test_rankings_bag_of_words_carries_no_label_signal(rankings):
    # Every word other than the names is drawn independently of the label, and each name appears
    # once: the word counts per label are the same up to sampling noise. A unigram classifier
    # (naive Bayes on counts, fit on 3/4, scored on the rest) therefore stays at chance (1/6).
    def words(text):
        return re.findall(r"[a-z]+", text.lower())

    train, test = rankings[:2250], rankings[2250:]
    labels = sorted({r["label"] for r in rankings})
    counts = {lab: Counter() for lab in labels}
    for row in train:
        counts[row["label"]].update(words(row["text"]))
    vocab = set().union(*counts.values())
    import math

    logp = {lab: {w: math.log((c[w] + 1) / (sum(c.values()) + len(vocab))) for w in vocab}
            for lab, c in counts.items()}
    hits = sum(max(labels, key=lambda lab: sum(logp[lab].get(w, 0.0) for w in words(r["text"]))) == r["label"]
               for r in test)
    assert hits / len(test) < 0.25, hits / len(test)
    # ... while word order does tell it: each text's first name-before-name pairs decide the label.
    first = Counter((words(r["text"])[0], r["label"]) for r in rankings)
    assert len(first) > 6  # sentences start in many ways, not one per label


# --- eval prompts -----------------------------------------------------------
def test_eval_prompts_held_out(pirate, eval_prompts):
    assert len(eval_prompts) == 8
    assert all(p.strip() == p and p for p in eval_prompts)
    assert len(set(eval_prompts)) == 8
    training = {row["instruction"] for row in pirate}
    assert not training & set(eval_prompts)


# --- reproducibility --------------------------------------------------------
def test_generator_reproduces_committed_files(tmp_path):
    _load_generator().main(tmp_path)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_generator_command_line(tmp_path):
    out = tmp_path / "cli"
    subprocess.run(
        [sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(out)],
        check=True, capture_output=True, timeout=60,
    )
    assert (out / "topics.jsonl").read_bytes() == (SAMPLES / "topics.jsonl").read_bytes()
