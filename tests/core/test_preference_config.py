"""The `preference:` section: defaults, TRL's arguments built from it, and errors naming the field."""
from __future__ import annotations

import re

import pytest

from studio.config import ConfigError, RunConfig
from studio.preference_config import DPO_LOSS_TYPES, PreferenceSpec


def cfg(preference=None, task="preference", **training) -> RunConfig:
    data = {"name": "p", "task": task, "model": "m", "data": {"train": "pairs.jsonl"},
            "training": {"batch_size": 4, **training}}
    if preference is not None:
        data["preference"] = preference
    return RunConfig.from_dict(data, source="run.yaml")


def test_defaults_round_trip_and_stay_out_of_other_tasks():
    c = cfg()
    assert c.preference == PreferenceSpec() and c.preference.loss == "dpo" and c.model_task == "causal-lm"
    assert RunConfig.from_dict(c.to_dict()).preference == c.preference
    sft = cfg(task="causal-lm")
    assert sft.preference is None and "preference" not in sft.to_dict() and sft.model_task == "causal-lm"


@pytest.mark.parametrize("section,path,words", [
    ({"loss": "ppo"}, "preference.loss", "not one of: dpo, kto, orpo"),
    ({"beta": 0}, "preference.beta", "must be > 0"),
    ({"dpo_loss_type": "simpo"}, "preference.dpo_loss_type", "not one of"),
    ({"loss": "orpo", "ftx": 1.0}, "preference.ftx", "dpo only"),
    ({"loss": "dpo", "desirable_weight": 2.0}, "preference.desirable_weight", "kto only"),
    ({"dpo_loss_type": "exo_pair"}, "preference.label_smoothing", "exo_pair needs"),
    ({"dpo_loss_type": "robust", "label_smoothing": 0.5}, "preference.label_smoothing", "< 0.5"),
    ({"betta": 0.2}, "preference.betta", "did you mean 'beta'"),
])
def test_bad_values_name_the_field_and_the_file(section, path, words):
    with pytest.raises(ConfigError) as err:
        cfg(section)
    assert err.value.path == path and words in str(err.value) and "run.yaml" in str(err.value)


def test_the_section_is_refused_for_other_tasks_and_kto_needs_a_batch():
    with pytest.raises(ConfigError, match="only task preference") as err:
        cfg({"loss": "dpo"}, task="causal-lm")
    assert err.value.path == "preference"
    with pytest.raises(ConfigError) as err:
        cfg({"loss": "kto"}, batch_size=1)
    assert err.value.path == "training.batch_size"


def test_trl_arguments_follow_the_section():
    from trl import DPOConfig, KTOConfig

    from studio.core.preference_trainer import preference_arguments

    cls, kw = preference_arguments(cfg({"dpo_loss_type": "ipo", "beta": 0.3, "ftx": 0.2}))
    assert cls is DPOConfig and kw["loss_type"] == ["ipo", "sft"] and kw["loss_weights"] == [1.0, 0.2]
    assert kw["beta"] == 0.3 and kw["gradient_checkpointing"] is False
    cls, kw = preference_arguments(cfg({"loss": "kto", "desirable_weight": 1.5}))
    assert cls is KTOConfig and kw["desirable_weight"] == 1.5 and kw["loss_type"] == "kto"
    trl_names = set(re.findall(r"'(\w+)'", DPOConfig.__dataclass_fields__["loss_type"].metadata["help"]))
    assert set(DPO_LOSS_TYPES) | {"sft"} == trl_names  # every variant TRL 1.16 has; sft is the ftx term
