"""An omitted training.learning_rate is the method's own recommended rate, and that number is what
the stored config holds; an explicit rate is kept whatever the method."""
from __future__ import annotations

import pytest

from studio import methods
from studio.config import ConfigError, RunConfig, dump_config, load_config


def config(method: str, task: str = "classification", **training) -> RunConfig:
    return RunConfig.from_dict({"name": "t", "task": task, "model": "sample:minilm",
                                "data": {"train": "train.jsonl"}, "method": {"name": method},
                                "training": training})


@pytest.mark.parametrize("name", ["lora", "prompt", "full", "ia3", "prefix", "bitfit"])
def test_omitted_rate_is_the_methods_own(name):
    assert config(name, "causal-lm").training.learning_rate == methods.get(name).learning_rate


@pytest.mark.parametrize("task, rate", [("classification", 2e-3), ("causal-lm", 2e-4), ("preference", 2e-4)])
def test_omitted_lora_rate_follows_the_task(task, rate):
    assert config("lora", task).training.learning_rate == pytest.approx(rate)
    assert config("lora", task, learning_rate=1e-5).training.learning_rate == pytest.approx(1e-5)


def test_prompt_tuning_gets_its_paper_rate_not_the_old_global_default():
    assert config("prompt").training.learning_rate == pytest.approx(0.3)
    assert config("full").training.learning_rate < config("lora").training.learning_rate


def test_explicit_rate_is_kept():
    assert config("prompt", learning_rate=0.01).training.learning_rate == 0.01


def test_resolved_rate_is_written_and_reads_back(tmp_path):
    path = tmp_path / "run.yaml"
    dump_config(config("prompt"), path)
    assert "learning_rate: 0.3" in path.read_text()
    assert load_config(path).training.learning_rate == pytest.approx(0.3)
    assert config("prompt").to_dict()["training"]["learning_rate"] == pytest.approx(0.3)


def test_unknown_method_names_the_key():
    with pytest.raises(ConfigError, match="method.name"):
        config("nope")


def test_bad_explicit_rate_names_the_key():
    with pytest.raises(ConfigError, match="training.learning_rate"):
        config("lora", learning_rate=0)
