"""Rank-awareness without launching torchrun: the world from the environment, the Trainer arguments,
the joined-group check, progress files and the refusals (cheap; the 2-process runs are in
tests/worker/test_rank_ddp.py and tests/core/test_distributed_methods.py)."""
from __future__ import annotations

import json

import pytest

from studio.config import ConfigError, RunConfig
from studio.core.config_check import SubmitError, load_and_check
from studio.core.distributed import DistributedSetupError, World, check_joined, trainer_arguments, world
from studio.core.distributed_callbacks import progress_path, rank_callbacks, write_progress
from studio.core.distributed_check import refuse_distributed
from tests.conftest import instruction_rows, write_config, write_jsonl


def test_world_comes_from_torchruns_environment():
    assert world({}) == World(0, 0, 1) and not world({}).distributed and world({}).main
    w = world({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert (w.rank, w.local_rank, w.size, w.main, w.distributed) == (3, 1, 4, False, True)
    with pytest.raises(DistributedSetupError):
        world({"WORLD_SIZE": "two"})


def test_trainer_arguments_per_backend_and_strategy():
    assert trainer_arguments("lora", "ddp", "cpu", World()) == {}  # one process: today's recipe
    two = World(0, 0, 2)
    assert trainer_arguments("lora", "ddp", "cpu", two) == {"ddp_backend": "gloo",
                                                             "ddp_find_unused_parameters": False}
    assert trainer_arguments("ia3", "ddp", "cuda", two)["ddp_backend"] == "nccl"
    fsdp = trainer_arguments("lora", "fsdp", "cuda", two)
    assert fsdp["fsdp"] == "full_shard auto_wrap" and fsdp["fsdp_config"]["version"] == 2
    assert "ddp_find_unused_parameters" not in fsdp


def test_processes_that_did_not_join_one_group_are_stopped():
    # What torchrun on a CPU machine gives without use_cpu: every process a world of one. Faked here
    # (no process group): the Trainer's arguments say 1 process while torchrun said 2.
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir="unused", use_cpu=True, report_to="none")
    assert args.world_size == 1
    check_joined(args, World())  # one process, nothing to check
    with pytest.raises(DistributedSetupError, match="torchrun started 2 processes.*alone"):
        check_joined(args, World(1, 1, 2))


def test_progress_file_is_replaced_whole_and_callbacks_only_when_distributed(tmp_path):
    write_progress(tmp_path, 1, 5, "training")
    write_progress(tmp_path, 1, 6, "saving")
    got = json.loads(progress_path(tmp_path, 1).read_text())
    assert {k: got[k] for k in ("rank", "step", "stage")} == {"rank": 1, "step": 6, "stage": "saving"}
    assert [p.name for p in (tmp_path / "ranks").iterdir()] == ["rank-1.json"]  # no temp file left
    inner = [object()]
    assert rank_callbacks(World(), inner, None, tmp_path, 4, "cpu") is inner
    names = [type(c).__name__ for c in rank_callbacks(World(0, 0, 2), inner, None, tmp_path, 8, "cpu")]
    assert names == ["RankMemory", "object", "StopSync", "ProgressFile"]  # memory before, sync after


BASE = {"name": "x", "task": "causal-lm", "model": "m", "data": {"train": "a.jsonl"}}


@pytest.mark.parametrize("method, training, path, words", [
    ("lora", {"ulmfit": {"gradual_unfreezing": True}}, "processes", "gradual unfreezing"),
    ("ia3", {"distributed": {"processes": 2, "strategy": "fsdp"}}, "strategy", "full, lora and qlora"),
    ("lora", {"distributed": {"processes": 2, "strategy": "fsdp"}}, "strategy", "needs CUDA"),
    ("lora", {"distributed": {"processes": 2, "strategy": "fsdp"}, "ulmfit": {"discriminative_decay": 2.6}},
     "strategy", "per-layer-group"),
])
def test_what_cannot_train_in_several_processes_is_refused_with_the_reason(method, training, path, words):
    training = {"distributed": {"processes": 2}, **training}
    cfg = RunConfig.from_dict(dict(BASE, method=method, training=training))
    with pytest.raises(ConfigError, match=words) as err:
        refuse_distributed(cfg, cuda=False)
    assert err.value.path == f"training.distributed.{path}"
    one = RunConfig.from_dict(dict(BASE, method=method, training={**training, "distributed": {"processes": 1}}))
    refuse_distributed(one, cuda=False)  # one process: nothing changes


def test_allowed_in_several_processes():
    for method in ("qlora", "prefix", "full"):  # qlora's 4-bit base trains under gloo too
        refuse_distributed(RunConfig.from_dict(dict(BASE, method=method,
                                                    training={"distributed": {"processes": "auto"}})), cuda=False)
    fsdp = {"distributed": {"processes": 2, "strategy": "fsdp"}, "ulmfit": {"discriminative_decay": None}}
    refuse_distributed(RunConfig.from_dict(dict(BASE, method="full", training=fsdp)), cuda=True)


def test_refused_before_a_run_is_recorded(tmp_path, tiny_models):
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(8))
    cfg = write_config(tmp_path, model=str(tiny_models["gpt2"]), data={"train": str(data)},
                       training={"device": "cpu", "distributed": {"processes": 2, "strategy": "fsdp"}})
    with pytest.raises(SubmitError, match=r"run.yaml: training.distributed.strategy: fsdp needs CUDA"):
        load_and_check(cfg)


def test_qlora_under_fsdp_stores_4_bit_weights_in_the_compute_dtype_and_gpus_are_counted():
    import torch
    from transformers import BitsAndBytesConfig

    from studio.core.distributed import model_load_kwargs, use_local_device

    def kwargs():
        return {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16),
                "dtype": torch.bfloat16}

    two = World(0, 0, 2)
    assert model_load_kwargs("fsdp", kwargs(), two)["quantization_config"].bnb_4bit_quant_storage == torch.bfloat16
    assert model_load_kwargs("ddp", kwargs(), two)["quantization_config"].bnb_4bit_quant_storage == torch.uint8
    assert model_load_kwargs("fsdp", {}, two) == {}
    eight = RunConfig.from_dict(dict(BASE, method={"name": "qlora", "bits": 8},
                                     training={"distributed": {"processes": 2, "strategy": "fsdp"}}))
    with pytest.raises(ConfigError, match="4-bit"):
        refuse_distributed(eight, cuda=True)
    if not torch.cuda.is_available():  # a rank beyond the GPUs there are: said before NCCL fails
        with pytest.raises(DistributedSetupError, match="needs GPU 1 but this machine shows 0"):
            use_local_device(World(1, 1, 2), "cuda")


def test_only_the_saving_rank_writes_a_checkpoints_weights(tmp_path):
    """Every rank calls Trainer._save; a second writer raced rank 0 into its staging folder (DDP hang)."""
    from types import SimpleNamespace

    from studio.core.trainer import StudioTrainerMixin

    written = []
    other_rank = SimpleNamespace(args=SimpleNamespace(should_save=False, output_dir=str(tmp_path / "x")),
                                 save_weights=lambda model, folder: written.append(folder), model=None,
                                 processing_class=None)
    StudioTrainerMixin._save(other_rank, str(tmp_path / "staging"))
    assert written == [] and not (tmp_path / "staging").exists()
    rank_zero = SimpleNamespace(**{**vars(other_rank), "args": SimpleNamespace(should_save=True, output_dir="")})
    StudioTrainerMixin._save(rank_zero, str(tmp_path / "staging"))
    assert written == [tmp_path / "staging"] and (tmp_path / "staging" / "training_args.bin").exists()
