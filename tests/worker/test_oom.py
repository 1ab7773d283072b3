"""Out-of-memory pieces without a worker: classification, the next micro-batch, advice, the retry loop."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from studio.config import RunConfig
from studio.core import faults
from studio.worker import oom


def _cfg(**training) -> RunConfig:
    t = {"max_steps": 10, "batch_size": 16, "gradient_accumulation": 1, **training}
    return RunConfig.from_dict({"name": "r", "task": "causal-lm", "model": "m",
                                "data": {"train": "t.jsonl", "max_length": 512}, "method": {"name": "lora"},
                                "training": t})


def _wrapped() -> BaseException:
    try:
        try:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
        except torch.OutOfMemoryError as inner:
            raise ValueError("collating failed") from inner
    except ValueError as outer:
        return outer


@pytest.mark.parametrize("exc", [
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB."),
    RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
    RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
    _wrapped(),
])
def test_out_of_memory_errors_are_recognised(exc):
    assert oom.is_out_of_memory(exc)


@pytest.mark.parametrize("exc", [
    RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x8 and 16x8)"),
    ValueError("out of range"), KeyboardInterrupt(), MemoryError("python heap"),
])
def test_other_errors_are_not(exc):
    assert not oom.is_out_of_memory(exc)


@pytest.mark.parametrize("before,after", [
    ((16, 1), (8, 2)), ((8, 2), (4, 4)), ((2, 8), (1, 16)), ((6, 1), (3, 2)),
    ((5, 1), (1, 5)),  # halving 5 to 2 would change the effective batch; 1 × 5 keeps it
    ((7, 2), (2, 7)), ((1, 4), None),
    ((2, 1024), None),  # 1 × 2048 is past gradient_accumulation's limit
])
def test_next_micro_batch_halves_or_less_and_keeps_the_effective_batch(before, after):
    assert oom.smaller_micro_batch(*before) == after


def test_plans_reach_micro_batch_one_with_the_product_kept():
    for batch in range(2, 65):
        plan, seen = (batch, 3), []
        while plan is not None:
            seen.append(plan)
            plan = oom.smaller_micro_batch(*plan)
        assert seen[-1][0] == 1 and {b * a for b, a in seen} == {batch * 3}
        assert all(later[0] <= earlier[0] // 2 for earlier, later in zip(seen, seen[1:]))


def test_advice_fills_in_this_configs_numbers():
    tips = oom.advice(_cfg(batch_size=16, gradient_accumulation=1))
    assert tips == [
        "training.batch_size 16 → 8 with gradient_accumulation 1 → 2 (keeps the effective batch 16)",
        "training.activation_checkpointing: on",
        "method.name: qlora (a 4-bit base)",
        "data.max_length 512 → 256",
    ]


def test_advice_leaves_out_what_is_already_done():
    cfg = RunConfig.from_dict({**_cfg(batch_size=1).to_dict(), "method": {"name": "qlora"}})
    tips = oom.advice(cfg)
    assert not any("batch_size" in t or "qlora" in t for t in tips)
    ckpt = oom.advice(_cfg(activation_checkpointing="on"))
    assert "training.activation_checkpointing: offload" in ckpt
    every = oom.advice(_cfg(activation_checkpointing={"every_n": 3}))
    assert "training.activation_checkpointing: on (every block, not every 3)" in every


def test_failure_message_is_one_line_with_cause_and_advice():
    text = oom.failure_message(_cfg(batch_size=4, gradient_accumulation=2), 37, 0,
                               "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has ...")
    assert "\n" not in text
    assert text.startswith("Out of memory at step 37, trying to allocate 2.00 GiB with batch_size 4 × "
                           "gradient_accumulation 2. Try: training.batch_size 4 → 2 with gradient_accumulation 2 → 4")
    last = oom.failure_message(_cfg(batch_size=1, gradient_accumulation=8), 37, 3, "oom")
    assert "after 3 retries with smaller micro-batches" in last and "training.batch_size" not in last
    loading = oom.failure_message(_cfg(), None, 0, "oom")
    assert "before training started" in loading and "training." not in loading and "a smaller model" in loading


def test_with_micro_batch_changes_only_the_batch():
    cfg = _cfg(batch_size=8, gradient_accumulation=2, learning_rate=1e-3)
    smaller = oom.with_micro_batch(cfg, 4, 4)
    assert (smaller.training.batch_size, smaller.training.gradient_accumulation) == (4, 4)
    expected = cfg.to_dict()
    expected["training"].update(batch_size=4, gradient_accumulation=4)
    assert smaller.to_dict() == expected


def _state(step: int) -> SimpleNamespace:
    return SimpleNamespace(global_step=step)


def test_retry_loop_halves_until_it_fits_and_reports_each_retry():
    tried, retried = [], []

    def attempt(cfg, watch):
        t = cfg.training
        tried.append((t.batch_size, t.gradient_accumulation))
        watch.on_step_begin(None, _state(36), None)
        if t.batch_size > 4:
            raise torch.OutOfMemoryError("CUDA out of memory.")
        return "done"

    result = oom.train_retrying(_cfg(batch_size=16), attempt, lambda cfg, step: retried.append(
        (step, cfg.training.batch_size, cfg.training.gradient_accumulation)))
    assert result == "done"
    assert tried == [(16, 1), (8, 2), (4, 4)]
    assert retried == [(37, 8, 2), (37, 4, 4)]


def test_retry_loop_fails_with_advice_when_retrying_is_off_or_exhausted():
    def attempt(cfg, watch):
        watch.on_step_begin(None, _state(4), None)
        raise torch.OutOfMemoryError("CUDA out of memory.")

    retried = []
    with pytest.raises(oom.OutOfMemory) as off:
        oom.train_retrying(_cfg(batch_size=4, oom_retry=False), attempt, lambda c, s: retried.append(s))
    assert retried == [] and "at step 5" in str(off.value) and "batch_size 4 → 2" in str(off.value)
    with pytest.raises(oom.OutOfMemory) as exhausted:
        oom.train_retrying(_cfg(batch_size=4), attempt, lambda c, s: retried.append(s))
    assert retried == [5, 5] and "batch_size 1 × gradient_accumulation 4, after 2 retries" in str(exhausted.value)
    assert exhausted.value.__cause__ is None and exhausted.value.__suppress_context__


def test_retry_loop_does_not_retry_outside_the_training_loop_or_other_errors():
    def loading(cfg, watch):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    with pytest.raises(oom.OutOfMemory, match="before training started"):
        oom.train_retrying(_cfg(), loading, lambda c, s: pytest.fail("retried"))

    def saving(cfg, watch):
        watch.on_step_begin(None, _state(9), None)
        watch.on_train_end(None, _state(10), None)
        raise torch.OutOfMemoryError("CUDA out of memory.")

    with pytest.raises(oom.OutOfMemory):
        oom.train_retrying(_cfg(), saving, lambda c, s: pytest.fail("retried"))

    def broken(cfg, watch):
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        oom.train_retrying(_cfg(), broken, lambda c, s: pytest.fail("retried"))


def test_fault_injection_is_inert_unless_asked(monkeypatch):
    monkeypatch.delenv(faults.OOM_AT_STEP, raising=False)
    assert faults.injected_callbacks() == []
    monkeypatch.setenv(faults.OOM_AT_STEP, "3")
    monkeypatch.setenv(faults.OOM_WHILE_BATCH_ABOVE, "2")
    (callback,) = faults.injected_callbacks()
    big, small = SimpleNamespace(per_device_train_batch_size=4), SimpleNamespace(per_device_train_batch_size=2)
    callback.on_step_begin(big, _state(1), None)  # step 2 begins: no fault
    callback.on_step_begin(small, _state(2), None)  # step 3 at micro-batch 2: no fault
    with pytest.raises(torch.OutOfMemoryError) as err:
        callback.on_step_begin(big, _state(2), None)
    assert oom.is_out_of_memory(err.value)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="a real CUDA out-of-memory needs a CUDA device")
def test_a_real_cuda_out_of_memory_is_recognised_and_its_memory_handed_back():
    block = 256 * 2**20
    held = torch.empty(block, dtype=torch.uint8, device="cuda")
    total = torch.cuda.get_device_properties(0).total_memory
    with pytest.raises(torch.OutOfMemoryError) as err:
        torch.empty(2 * total, dtype=torch.uint8, device="cuda")
    assert oom.is_out_of_memory(err.value)
    assert ", trying to allocate " in oom.failure_message(_cfg(), 3, 0, str(err.value))
    del held, err  # the block stays in the caching allocator until free_memory hands it back
    reserved = torch.cuda.memory_reserved()
    oom.free_memory()
    assert torch.cuda.memory_reserved() <= reserved - block
