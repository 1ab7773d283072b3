"""Compare ratings -> preference pairs: higher-rated chosen, ties and identical outputs skipped, the JSONL
accepted by the preference validator, and `studio compare --export-preferences` doing the same."""
from __future__ import annotations

import json

import pytest

from studio.config import DataSpec
from studio.core.preference_rows import prepare_preference
from studio.library.preference_export import export_preferences, preference_pairs
from studio.store import open_db
from studio.store.comparisons import create_comparison, get_comparison, set_rating
from tests.conftest import studio

COLUMNS = ["base", "lora", "houlsby"]
ROWS = [{"prompt": "Greet a sailor.", "outputs": {"base": "Hello.", "lora": "Ahoy, matey!", "houlsby": "Ahoy!"}},
        {"prompt": "Name a sea.", "outputs": {"base": "Baltic", "lora": "The Baltic, arr", "houlsby": "Baltic"}},
        {"prompt": "Count to two.", "outputs": {"base": "1 2", "lora": "one, two", "houlsby": "1, 2"}}]


def rated(db, ratings: dict[tuple[int, str], int]) -> dict:
    cid = create_comparison(db, base_model="tiny", columns=COLUMNS, prompts=[r["prompt"] for r in ROWS],
                            settings={}, results={"rows": ROWS}, task="causal-lm")
    for (row, col), value in ratings.items():
        set_rating(db, cid, row, col, value)
    return get_comparison(db, cid)


@pytest.fixture
def db():
    database = open_db(None)
    yield database
    database.close()


def test_higher_rated_output_is_chosen_and_ties_are_counted_not_paired(db):
    c = rated(db, {(0, "base"): 1, (0, "lora"): 5, (0, "houlsby"): 3,     # 3 pairs
                   (1, "base"): 2, (1, "lora"): 2,                         # a tie
                   (1, "houlsby"): 4,                                      # same text as base: skipped
                   (2, "lora"): 4})                                        # alone: nothing to compare
    pairs, summary = preference_pairs(c)
    assert pairs[:3] == [{"prompt": "Greet a sailor.", "chosen": "Ahoy, matey!", "rejected": "Hello."},
                         {"prompt": "Greet a sailor.", "chosen": "Ahoy!", "rejected": "Hello."},
                         {"prompt": "Greet a sailor.", "chosen": "Ahoy, matey!", "rejected": "Ahoy!"}]
    assert pairs[3] == {"prompt": "Name a sea.", "chosen": "Baltic", "rejected": "The Baltic, arr"}
    assert summary == {"pairs": 4, "ties": 1, "identical": 1, "prompts": 2, "rated": 7}


def test_exported_jsonl_passes_the_preference_validator(db, tmp_path):
    c = rated(db, {(0, "base"): 1, (0, "lora"): 5, (1, "base"): 3, (1, "lora"): 4, (2, "houlsby"): 2,
                   (2, "lora"): 5})
    out = tmp_path / "prefs.jsonl"
    summary = export_preferences(c, out)
    assert summary["pairs"] == 3 and not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed
    data = prepare_preference(DataSpec(train=str(out)), seed=0, loss="dpo")
    assert data.format == "preference" and len(data.train) == 3
    assert data.train[0] == {"prompt": "Greet a sailor.", "chosen": "Ahoy, matey!", "rejected": "Hello."}
    assert data.source_lines["train"] == [f"{out}:{n}" for n in (1, 2, 3)]


def test_nothing_rated_differently_writes_no_file(db, tmp_path):
    c = rated(db, {(0, "base"): 3, (0, "lora"): 3})
    with pytest.raises(ValueError, match="no pair to export.*1 equal ratings"):
        export_preferences(c, tmp_path / "none.jsonl")
    assert not (tmp_path / "none.jsonl").exists()


@pytest.mark.slow  # two `studio` child processes
def test_cli_exports_the_newest_comparison_or_the_one_named(home, tmp_path):
    db = open_db(home.db_path)
    first = rated(db, {(0, "base"): 1, (0, "lora"): 5})["id"]
    rated(db, {(0, "base"): 2, (0, "lora"): 2})  # the newest has only a tie
    db.close()
    out = tmp_path / "p.jsonl"
    proc = studio(home, "compare", "--export-preferences", str(out), "--comparison", str(first), check=True)
    assert f"comparison {first}: wrote 1 preference pairs" in proc.stdout
    assert [json.loads(line)["chosen"] for line in out.read_text().splitlines()] == ["Ahoy, matey!"]
    proc = studio(home, "compare", "--export-preferences", str(out))
    assert proc.returncode != 0 and "no pair to export" in proc.stderr
