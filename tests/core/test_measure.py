"""`studio probe CONFIG --measure`: 3 real optimizer steps of the run's own recipe on the longest rows,
the measured peak beside the one estimate, and nothing left in the data home."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.core.data import PreparedData
from tests.conftest import studio, write_config, write_jsonl


def ragged_rows(n: int) -> list[dict]:
    """Row i is strictly longer than row i - 1, so the longest rows are the last ones."""
    return [{"instruction": f"Double {i}." + " the" * i, "input": "", "output": f"The answer is {2 * i}."}
            for i in range(n)]


def own_lengths(model: Path, rows: list[dict], max_length: int) -> list[int]:
    """Each row's tokens as the run tokenizes it."""
    from studio.core.models import load_tokenizer
    from studio.core.tokenize import tokenize_rows

    ds, _ = tokenize_rows(rows, "instruction", load_tokenizer(str(model)), max_length=max_length)
    return [len(ids) for ids in ds["input_ids"]]


def test_measure_json_trains_the_longest_rows_and_keeps_nothing(home, tiny_models, tmp_path):
    rows = ragged_rows(30)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(data), "max_length": 128},
                       training={"batch_size": 4, "max_steps": 50, "save_steps": 1})
    proc = studio(home, "probe", str(cfg), "--measure", "--json", check=True)
    out = json.loads(proc.stdout)  # stdout is the JSON alone: the Trainer's own logs went to stderr
    lengths = own_lengths(tiny_models["llama"], rows, 128)
    assert [r["index"] for r in out["rows"]] == [29, 28, 27, 26]
    assert [r["tokens"] for r in out["rows"]] == sorted(lengths, reverse=True)[:4]
    top = sorted(lengths, reverse=True)[:4]
    # the batch the model really saw: the 4 longest rows, packed into one row or padded to the longest
    assert out["batch_shape"] == ([1, sum(top)] if out["packed"] else [4, max(top)])
    assert out["batch_tokens"] == out["batch_shape"][0] * out["batch_shape"][1]
    assert out["steps"] == 3 and out["device"] == "cpu"
    assert out["measured_bytes"] > 0 and out["estimate_bytes"] > 0
    assert out["ratio"] == pytest.approx(out["measured_bytes"] / out["estimate_bytes"])
    est = out["estimate"]
    assert est["total_bytes"] == out["estimate_bytes"] and est["overhead_bytes"] == 0  # no CUDA here
    assert f"{out['batch_tokens']:,} tokens per micro-batch, counted on the longest rows" in " ".join(
        est["assumptions"])
    assert '"stage": "training"' in proc.stderr  # progress lines for the GUI
    # nothing recorded, trained or saved in the data home
    assert not home.db_path.exists() or __import__("sqlite3").connect(home.db_path).execute(
        "select count(*) from runs").fetchone()[0] == 0
    assert not any(home.runs_dir.glob("*")) and not any(home.adapters_dir.glob("*"))


def test_measure_refuses_all_methods_and_names_bad_data(home, tiny_models, tmp_path):
    cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(tmp_path / "missing.jsonl")})
    proc = studio(home, "probe", str(cfg), "--measure", "--all-methods")
    assert proc.returncode == 2 and "--measure" in proc.stderr
    proc = studio(home, "probe", str(cfg), "--measure", "--json")
    assert proc.returncode == 2 and "missing.jsonl" in proc.stderr and proc.stdout == ""


def test_measurement_config_keeps_two_labels_and_trains_three_steps(tmp_path):
    from studio.config import RunConfig
    from studio.core.measure import MEASURE_STEPS, measurement_config

    cfg = RunConfig.from_dict({"name": "c", "task": "classification", "model": "m",
                               "data": {"train": "x.csv", "columns": {"text": "body"}},
                               "training": {"batch_size": 1, "gradient_accumulation": 8, "epochs": 2}})
    data = PreparedData("classification", [{"text": "short", "label": "a"}, {"text": "much longer", "label": "a"}],
                        None, ["a", "b", "c"], {"train": ["x:1", "x:2"]})
    small = measurement_config(cfg, data, [(1, 5)], tmp_path)
    written = [json.loads(line) for line in Path(small.data.train).read_text().splitlines()]
    # one row of the micro-batch, written twice with two labels: prepare_data needs two distinct labels
    assert written == [{"text": "much longer", "label": "a"}, {"text": "much longer", "label": "b"}]
    t = small.training
    assert (t.max_steps, t.epochs, t.gradient_accumulation, t.batch_size) == (MEASURE_STEPS, None, 1, 1)
    assert small.data.columns == {} and small.data.format == "classification" and small.data.validation is None


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_measure_on_cuda_reads_max_memory_allocated(home, tiny_models, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", ragged_rows(12))
    cfg = write_config(tmp_path, model=str(tiny_models["llama"]), data={"train": str(data)},
                       training={"batch_size": 4, "device": "cuda"})
    out = json.loads(studio(home, "probe", str(cfg), "--measure", "--json", check=True).stdout)
    assert out["device"] == "cuda" and out["measured"].startswith("torch.cuda.max_memory_allocated")
    assert out["measured_bytes"] > 0 and out["estimate"]["overhead_bytes"] > 0
