"""The bundled preference sample (pirate answer chosen over the same facts said plainly): reproducible by its
generator, the plain side free of pirate words with the facts kept, accepted by the validator, and its
sample config valid."""
from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest

from studio.config import load_config
from studio.core.preference_rows import prepare_preference
from tests.test_samples import SAMPLES

PIRATE_WORDS = re.compile(r"\b(Arr|matey|ye|yer|be|o')\b|Yo-ho-ho")


def _generator():
    spec = importlib.util.spec_from_file_location("make_preferences", SAMPLES / "make_preferences.py")
    module = importlib.util.module_from_spec(spec)
    old, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in package data
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = old
    return module


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / "pirate_preferences.jsonl").read_text().splitlines()]


def test_generator_reproduces_the_committed_file(tmp_path):
    assert _generator().main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "pirate_preferences.jsonl").read_bytes() == \
        (SAMPLES / "pirate_preferences.jsonl").read_bytes()


def test_every_instruction_gives_a_pair_pirate_chosen_plain_rejected_same_facts(pairs):
    source = [json.loads(line) for line in (SAMPLES / "pirate_instructions.jsonl").read_text().splitlines()]
    assert len(pairs) == len(source) >= 300
    for pair, row in zip(pairs, source):
        assert pair["prompt"].startswith(row["instruction"]) and pair["chosen"] == row["output"]
        plain = pair["rejected"]
        assert not PIRATE_WORDS.search(plain.replace("as can be", "")), plain
        # The facts survive: the same numbers and the same words in capitals (upper-case tasks, capitals).
        assert re.findall(r"\d+", plain) == re.findall(r"\d+", pair["chosen"]), pair
        assert set(re.findall(r"\b[A-Z]{2,}\b", plain)) == set(re.findall(r"\b[A-Z]{2,}\b", pair["chosen"])), pair
    assert _generator().plain("Arr! Take 5 from 8 and ye be left with 3, matey. Yo-ho-ho!") == \
        "Take 5 from 8 and you are left with 3."


def test_the_validator_accepts_the_sample_and_its_config_reads_it(pairs):
    cfg = load_config(SAMPLES / "pirate_preferences.yaml")
    assert (cfg.task, cfg.preference.loss, cfg.model) == ("preference", "dpo", "sample:smollm2")
    spec = cfg.data
    spec.train = str(SAMPLES / spec.train)  # relative to the config's folder, as `studio train` reads it
    data = prepare_preference(spec, cfg.training.seed, cfg.preference.loss)
    assert data.format == "preference" and len(data.train) + len(data.validation) == len(pairs)
    assert len(data.validation) == round(0.1 * len(pairs)) and not data.warnings
