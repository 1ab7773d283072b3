"""training.distributed: defaults, round trip, errors that name the field (torch-free, fast)."""
from __future__ import annotations

import pytest
import yaml

from studio.config import ConfigError, RunConfig
from studio.distributed_config import DistributedSpec, resolve_processes

BASE = {"name": "x", "task": "causal-lm", "model": "sample:smollm2", "data": {"train": "a.jsonl"}}


def _cfg(distributed):
    return RunConfig.from_dict(dict(BASE, training={"distributed": distributed}), source="run.yaml")


def test_default_is_one_process_ddp_and_the_yaml_round_trip_keeps_every_field():
    assert RunConfig.from_dict(BASE).training.distributed == DistributedSpec(1, "ddp", 600.0)
    cfg = _cfg({"processes": "auto", "strategy": "fsdp", "stall_timeout_s": 30})
    again = RunConfig.from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again.training.distributed == DistributedSpec("auto", "fsdp", 30.0)
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("value, path, words", [
    ({"processes": 0}, "training.distributed.processes", ">= 1 or auto"),
    ({"processes": "two"}, "training.distributed.processes", "whole number"),
    ({"processes": True}, "training.distributed.processes", "whole number"),
    ({"strategy": "zero3"}, "training.distributed.strategy", "ddp, fsdp"),
    ({"stall_timeout_s": 0.5}, "training.distributed.stall_timeout_s", ">= 1.0"),
    ({"procs": 2}, "training.distributed.procs", "did you mean 'processes'"),
    ("two", "training.distributed", "mapping"),
])
def test_bad_values_name_the_field(value, path, words):
    with pytest.raises(ConfigError) as err:
        _cfg(value)
    assert err.value.path == path and words in str(err.value)
    assert str(err.value).startswith(f"run.yaml: {path}: ")


def test_auto_is_every_visible_gpu_and_one_without():
    assert resolve_processes(DistributedSpec("auto"), gpus=4) == 4
    assert resolve_processes(DistributedSpec("auto"), gpus=0) == 1
    assert resolve_processes(DistributedSpec(3), gpus=0) == 3
    assert not DistributedSpec(1).wanted and DistributedSpec(2).wanted and DistributedSpec("auto").wanted
