"""Every broken file and config is refused by `studio train` before any run row is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.store import runs
from studio.store.db import open_db
from tests.conftest import studio, write_config

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED = json.loads((BAD / "EXPECTED.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_data_file_is_refused_with_file_and_line(tmp_path, home, tiny_models, name):
    task = "classification" if name.startswith("cls_") else "causal-lm"
    model = tiny_models["bert" if task == "classification" else "gpt2"]
    cfg = write_config(tmp_path, task=task, model=str(model), data={"train": str(BAD / name)})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 2, proc.stderr
    line, word = EXPECTED[name]["line"], EXPECTED[name]["word"]
    where = f"{BAD / name}:{line}:" if line is not None else str(BAD / name)
    assert where in proc.stderr, proc.stderr
    assert word.lower() in proc.stderr.lower(), proc.stderr
    assert runs.list_runs(open_db(home.db_path)) == []


@pytest.mark.parametrize("override, needle", [
    ({"trainig": {}}, "trainig: unknown key (did you mean 'training'?)"),
    ({"training": {"batch_size": 0}}, "training.batch_size: must be >= 1"),
    ({"training": {"learning_rate": "fast"}}, "training.learning_rate: expected a number"),
    ({"method": {"name": "lora", "rank": 4}}, "method.rank: unknown key"),
    ({"method": {"name": "lorra"}}, "method.name: unknown method 'lorra'"),
    ({"task": "regression"}, "task: 'regression' is not one of"),
    ({"model": "/no/such/model"}, "model: model '/no/such/model': no such folder"),
    ({"data": {"train": "missing.jsonl"}}, "missing.jsonl"),
])
def test_bad_config_names_the_key(tmp_path, home, tiny_models, override, needle):
    good = tmp_path / "ok.jsonl"
    good.write_text('{"text": "hello there"}\n' * 10)
    base = {"model": str(tiny_models["gpt2"]), "data": {"train": str(good)}}
    cfg = write_config(tmp_path, **{**base, **override})
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 2
    assert needle in proc.stderr, proc.stderr
    if "data" not in override:
        assert str(cfg) in proc.stderr, proc.stderr  # config errors name the config file
    assert runs.list_runs(open_db(home.db_path)) == []


def test_unreadable_config_file_names_the_line(tmp_path, home):
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("name: x\ntask: [causal-lm\n")
    proc = studio(home, "train", str(cfg))
    assert proc.returncode == 2 and f"{cfg}: line" in proc.stderr, proc.stderr
