"""bench/methods.py's overrides for a rate search: --option KEY=VALUE reads YAML values, a bad pair is refused,
and without --learning-rate each method gets the rate a classification config without one gets."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_methods", ROOT / "bench" / "methods.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_options_are_yaml_values_and_a_bad_pair_names_the_flag():
    b = bench()
    assert b.parse_options(["r=16", "targets=all-linear", "prefix_projection=false"]) == {
        "r": 16, "targets": "all-linear", "prefix_projection": False}
    with pytest.raises(SystemExit, match="--option"):
        b.parse_options(["r16"])


def test_the_default_rate_is_the_classification_one():
    b = bench()
    assert b.default_learning_rate("lora") == pytest.approx(2e-3)
    assert b.default_learning_rate("full") == pytest.approx(5e-5)


def test_both_tasks_share_one_table_and_each_gap_is_against_full_on_that_task():
    b = bench()

    def row(task, method, acc):
        return {"task": task, "method": method, "accuracy": acc, "learning_rate": 1e-3, "trainable": 10,
                "total": 100, "wall_s": 1.0, "peak_mib": 5.0}

    rows = [row("topics", "full", 0.99), row("topics", "lora", 0.98), row("topics", "ia3", 0.94), row("rankings", "full", 1.0),
            row("rankings", "lora", 0.5), {"task": "rankings", "method": "ia3", "error": "exit 1: boom"}]
    lines = b.table(rows, ["topics", "rankings"], markdown=True).splitlines()
    assert lines[0] == ("| method | lr | trainable | trainable % | topics acc. | Δ vs full | rankings acc. | Δ vs full "
                        "| wall s | peak MiB |")
    assert lines[3] == "| lora | 0.001 | 10 | 10.000 | 98.0 | -1.0 | 50.0 | -50.0 | 1 / 1 | 5 |"
    assert lines[4].startswith("| ia3 | 0.001 | 10 | 10.000 | 94.0 | -5.0 | exit 1: boom | — |")
    assert b.worst_gaps(rows, ["topics", "rankings"]) == [
        "topics: worst PEFT method ia3 -5.0 points vs full; more than 5 points behind: none",  # exactly 5 is met
        "rankings: worst PEFT method lora -50.0 points vs full; more than 5 points behind: lora"]


def test_from_json_assembles_runs_made_one_method_at_a_time(tmp_path, capsys):
    b = bench()

    def row(task, method, acc, steps):
        return {"task": task, "method": method, "accuracy": acc, "learning_rate": 1e-3, "trainable": 10,
                "total": 100, "wall_s": 1.0, "peak_mib": 5.0, "steps": steps}

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps([row("rankings", "lora", 0.2, 1200), row("topics", "full", 0.99, 60)]))
    second.write_text(json.dumps([row("rankings", "lora", 0.9, 1200), row("rankings", "full", 1.0, 1200)]))
    assert b.main(["--from-json", str(first), str(second), "--markdown"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "saved rows: topics 60 steps, rankings 1200 steps"
    assert [line.split(" | ")[0] for line in out[3:5]] == ["| full", "| lora"]  # the bench's order, not the files'
    assert "| 90.0 | -10.0 |" in out[4]  # the later file's lora row
    assert out[-1] == "rankings: worst PEFT method lora -10.0 points vs full; more than 5 points behind: lora"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SystemExit, match="bad.json"):
        b.main(["--from-json", str(tmp_path / "bad.json")])
