"""Saved comparisons: stored and reopened equal, ratings per cell, CSV / Markdown export."""
from __future__ import annotations

import csv
import io

import pytest

from studio.store.comparisons import (ComparisonNotFound, create_comparison, delete_comparison, get_comparison,
                                      list_comparisons, rename_comparison, set_rating, to_csv, to_markdown)

COLUMNS = ["base", "lora-a", "houlsby|b"]
PROMPTS = ["Say hi", "Two\nlines"]
RESULTS = {
    "rows": [{"prompt": "Say hi", "outputs": {"base": "hi", "lora-a": "hello, you", "houlsby|b": "hey"}},
             {"prompt": "Two\nlines", "outputs": {"base": "a", "lora-a": "b\nc", "houlsby|b": "d"}}],
    "eval": {"metrics": {"base": {"eval_loss": 2.5, "perplexity": 12.18}, "lora-a": {"eval_loss": 1.25,
                                                                                   "perplexity": 3.49},
                         "houlsby|b": {"eval_loss": 1.5, "perplexity": 4.48}}},
    "timings": {"base_load_s": 1.5, "base_loads": 1, "swaps": [{"to": "base", "seconds": 0.0}]},
}
SETTINGS = {"max_new_tokens": 40, "seed": 0, "sample": False}


def make(db, **kw) -> int:
    args = dict(name="first", base_model="tiny-gpt2", task="causal-lm", columns=COLUMNS, prompts=PROMPTS,
                 settings=SETTINGS, results=RESULTS, adapter_paths={"lora-a": "/a/lora"}, eval_file="held.jsonl")
    return create_comparison(db, **{**args, **kw})


def test_stored_and_reopened_equal(db):
    cid = make(db)
    c = get_comparison(db, cid)
    assert c["adapters"] == COLUMNS and c["prompts"] == PROMPTS and c["results"] == RESULTS
    assert c["settings"] == SETTINGS and c["ratings"] == {} and c["adapter_paths"] == {"lora-a": "/a/lora"}
    assert (c["name"], c["base_model"], c["task"], c["eval_file"]) == ("first", "tiny-gpt2", "causal-lm",
                                                                       "held.jsonl")
    with pytest.raises(ComparisonNotFound):
        get_comparison(db, cid + 1)


def test_list_newest_first_without_results(db):
    old = make(db, created_at=1.0)
    new = make(db, name="second", created_at=2.0)
    rows = list_comparisons(db)
    assert [r["id"] for r in rows] == [new, old]
    assert rows[0]["n_prompts"] == 2 and rows[0]["n_rated"] == 0 and "results" not in rows[0]
    assert rows[0]["adapters"] == COLUMNS


def test_ratings_per_cell_saved_validated_and_cleared(db):
    cid = make(db)
    set_rating(db, cid, 0, "lora-a", 5)
    assert set_rating(db, cid, 1, "base", 2) == {"0:lora-a": 5, "1:base": 2}
    assert get_comparison(db, cid)["ratings"] == {"0:lora-a": 5, "1:base": 2}
    assert set_rating(db, cid, 0, "lora-a", None) == {"1:base": 2}
    with pytest.raises(ValueError, match="rows 1-2"):
        set_rating(db, cid, 2, "base", 3)
    with pytest.raises(ValueError, match="no column 'nope'"):
        set_rating(db, cid, 0, "nope", 3)
    with pytest.raises(ValueError, match="1-5"):
        set_rating(db, cid, 0, "base", 6)
    with pytest.raises(ComparisonNotFound):
        set_rating(db, cid + 1, 0, "base", 3)
    assert list_comparisons(db)[0]["n_rated"] == 1


def test_rename_and_delete(db):
    cid = make(db)
    rename_comparison(db, cid, "renamed")
    assert get_comparison(db, cid)["name"] == "renamed"
    delete_comparison(db, cid)
    assert list_comparisons(db) == []
    with pytest.raises(ComparisonNotFound):
        delete_comparison(db, cid)


def test_csv_export_has_the_grid_ratings_and_metrics(db):
    cid = make(db)
    set_rating(db, cid, 1, "houlsby|b", 4)
    rows = list(csv.reader(io.StringIO(to_csv(get_comparison(db, cid)))))
    assert rows[0] == ["#", "prompt", *COLUMNS, *(f"{c} rating" for c in COLUMNS)]
    assert rows[1] == ["1", "Say hi", "hi", "hello, you", "hey", "", "", ""]
    assert rows[2] == ["2", "Two\nlines", "a", "b\nc", "d", "", "", "4"]  # newlines survive quoting
    assert rows[3] == ["metric", "eval_loss", "2.5", "1.25", "1.5"]
    assert rows[4][:2] == ["metric", "perplexity"] and len(rows) == 5


def test_markdown_export_is_one_table_row_per_prompt(db):
    cid = make(db)
    set_rating(db, cid, 0, "lora-a", 3)
    md = to_markdown(get_comparison(db, cid))
    assert md.startswith(f"# first (#{cid})")
    assert "| # | prompt | base | lora-a | houlsby\\|b |" in md  # a '|' in a name is escaped
    assert "| 1 | Say hi | hi | hello, you ★3 | hey |" in md
    assert "| 2 | Two<br>lines | a | b<br>c | d |" in md
    assert "| eval_loss | 2.5 | 1.25 | 1.5 |" in md and "`held.jsonl`" in md
