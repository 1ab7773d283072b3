"""The phases of bench/gpu.sh, each a plain function of setup.json returning a JSON-able dict.

On the GPU each phase runs in a child process of its own, so its peak memory is its own and an
out-of-memory error cannot leak into the next; the dry run calls the same functions in one process.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

LORA = {"r": 16, "alpha": 32.0, "dropout": 0.05, "targets": "all-linear"}
LEARNING_RATE = 2e-4
# The engine's log lines naming what it chose (core/packing.py, core/speed.py).
CHOSEN = re.compile(r"^(packing|activation checkpointing|kernels|liger)\b", re.IGNORECASE)


class PeakMemory:
    """Peak memory over a block: CUDA max allocated on a GPU, else the growth of the peak RSS."""

    def __init__(self, device: str):
        self.device = device

    def __enter__(self) -> "PeakMemory":
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            self.start = _rss("VmRSS")
            with contextlib.suppress(OSError):  # Linux: "5" resets the peak RSS (VmHWM) to the current RSS
                Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device == "cuda":
            import torch

            self.peak = int(torch.cuda.max_memory_allocated())
            self.reserved = int(torch.cuda.max_memory_reserved())
            self.what = "CUDA max allocated"
        else:
            self.peak, self.reserved = max(0, _rss("VmHWM") - self.start), None
            self.what = "peak RSS growth (CPU: not VRAM)"


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def step_timer(warmup: int) -> Any:
    """A Trainer callback timing steps warmup+1 .. last and counting their real (non-pad) tokens."""
    import torch
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.t0: float | None = None
            self.t1: float | None = None
            self.tokens0 = self.tokens1 = self.steps = 0
            self.losses: list[float] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()  # the step's kernels are done, not merely queued
            now, seen = time.perf_counter(), int(state.num_input_tokens_seen or 0)
            if state.global_step == warmup:
                self.t0, self.tokens0 = now, seen
            elif state.global_step > warmup:
                self.t1, self.tokens1, self.steps = now, seen, state.global_step - warmup

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

        def figures(self) -> dict[str, Any]:
            if self.t0 is None or self.t1 is None:
                raise RuntimeError(f"fewer than {warmup + 1} steps ran: nothing was timed")
            tokens, seconds = self.tokens1 - self.tokens0, self.t1 - self.t0
            return {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "timed_steps": self.steps,
                    "final_loss": self.losses[-1] if self.losses else None}

    return StepTimer()


@contextlib.contextmanager
def captured() -> Any:
    """The block's stdout and stderr as one string (the Trainer prints every log without tqdm);
    shown after all when the block fails, since that is when it matters."""
    import sys

    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            yield buf
    except BaseException:
        sys.stderr.write(buf.getvalue()[-8000:])
        raise


def engine_config(setup: dict[str, Any], method: str, name: str, **training: Any) -> dict[str, Any]:
    """The studio run config of section 1-3: packing auto, checkpointing on, kernels auto."""
    p = setup["profile"]
    steps = training.pop("max_steps", p["steps"])
    return {
        "name": name, "task": "causal-lm", "model": setup["model"],
        "data": {"train": setup["data"]["train"], "validation": setup["data"]["val"], "format": "instruction",
                 "max_length": p["max_length"]},
        "method": {"name": method, **LORA},
        "training": {"max_steps": steps, "batch_size": p["batch"], "learning_rate": LEARNING_RATE,
                     # nothing saved or evaluated inside the timed steps (the final save comes after them)
                     "save_steps": steps + 1, "eval_steps": steps + 1, "logging_steps": 1, "seed": 0,
                     "packing": "auto", "activation_checkpointing": "on", "kernels": "auto", **training},
    }


def engine(setup: dict[str, Any], method: str = "lora") -> dict[str, Any]:
    """The studio engine (run_training) on the ragged data: real tokens/s and peak memory."""
    import tempfile

    from studio.config import RunConfig
    from studio.core.train import NullReporter, run_training

    p = setup["profile"]
    timer = step_timer(p["warmup"])

    class Reporter(NullReporter):
        callbacks = [timer]

    cfg = RunConfig.from_dict(engine_config(setup, method, f"gpu-bench-{method}"))
    work = Path(setup["work"])
    with tempfile.TemporaryDirectory(dir=work) as run_dir, captured() as log, \
            PeakMemory(setup["device"]) as mem:
        outcome = run_training(cfg, Path(run_dir), work / "models", reporter=Reporter())
    if outcome.status != "completed":
        raise RuntimeError(f"the engine's run ended {outcome.status}")
    chosen = [line.strip() for line in log.getvalue().splitlines() if CHOSEN.match(line.strip())]
    return {"side": f"engine {method}", **timer.figures(), "peak_bytes": mem.peak, "reserved_bytes": mem.reserved,
            "memory": mem.what, "chosen": chosen, "trainable": outcome.trainable_params}


def plain(setup: dict[str, Any]) -> dict[str, Any]:
    """The script a user would write: Trainer + get_peft_model, random batches padded to their longest."""
    import datasets
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, \
        TrainingArguments

    from studio.core.formats import ALPACA_PROMPT

    p, device = setup["profile"], setup["device"]
    transformers.set_seed(0)
    with PeakMemory(device) as mem, captured():
        tok = AutoTokenizer.from_pretrained(setup["model"])
        model = AutoModelForCausalLM.from_pretrained(setup["model"], dtype="auto")
        model = get_peft_model(model, LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
        rows = [json.loads(line) for line in Path(setup["data"]["train"]).read_text().splitlines()]
        texts = [ALPACA_PROMPT.format(instruction=r["instruction"]) + r["output"] + tok.eos_token for r in rows]
        ds = datasets.Dataset.from_dict({"text": texts}).map(
            lambda b: tok(b["text"], truncation=True, max_length=p["max_length"]), batched=True, remove_columns=["text"])
        bf16 = device == "cuda" and torch.cuda.is_bf16_supported()  # as the engine's precision: auto
        args = TrainingArguments(
            output_dir=str(Path(setup["work"]) / "plain"), max_steps=p["steps"], per_device_train_batch_size=p["batch"],
            learning_rate=LEARNING_RATE, logging_steps=1, save_strategy="no", report_to="none", seed=0,
            disable_tqdm=True, use_cpu=device == "cpu", bf16=bf16, include_num_input_tokens_seen="non_padding")
        timer = step_timer(p["warmup"])
        Trainer(model=model, args=args, train_dataset=ds, callbacks=[timer],
                data_collator=DataCollatorForLanguageModeling(tok, mlm=False)).train()
    return {"side": "plain lora", **timer.figures(), "peak_bytes": mem.peak, "reserved_bytes": mem.reserved,
            "memory": mem.what}


def measure(setup: dict[str, Any]) -> dict[str, Any]:
    """`studio probe --measure`'s own function (core/measure.py) on the section-1 engine config."""
    from studio.config import RunConfig
    from studio.core.data import prepare_data
    from studio.core.measure import measure as measured

    cfg = RunConfig.from_dict(engine_config(setup, "lora", "gpu-bench-measure"))
    with captured():
        data = prepare_data(cfg.data, cfg.task, cfg.training.seed)
        got = measured(cfg, data, Path(setup["work"]) / "models")
    return {"estimate_bytes": got["estimate_bytes"], "measured_bytes": got["measured_bytes"],
            "measured": got["measured"], "batch_tokens": got["batch_tokens"], "packed": got["packed"],
            "estimate_over_measured": got["estimate_bytes"] / got["measured_bytes"] if got["measured_bytes"] else None}


def oom(setup: dict[str, Any], retry: bool, in_process: bool) -> dict[str, Any]:
    """A run with a deliberately oversized micro-batch through the real worker; how it ended."""
    import subprocess
    import sys

    from studio.config import RunConfig
    from studio.core import faults
    from studio.paths import Home
    from studio.store import runs
    from studio.store.db import open_db
    from studio.submit import submit

    p = setup["profile"]
    home = Home(Path(setup["work"]) / f"home-oom-{'retry' if retry else 'fail'}")
    cfg_dict = engine_config(setup, "lora", f"oom-{'retry' if retry else 'fail'}", max_steps=2,
                             batch_size=p["oom_batch"], activation_checkpointing="off", kernels="none",
                             oom_retry=retry, save_steps=1)
    cfg_dict["data"]["train"] = setup["data"]["longest"]
    home.ensure()
    db = open_db(home.db_path)
    run_id = submit(db, home, RunConfig.from_dict(cfg_dict), p["oom_batch"], launch=False)
    env = {}
    if p["oom_inject"]:  # no GPU to fill: raise the allocator's error at step 1 while the batch is large
        env = {faults.OOM_AT_STEP: "1", faults.OOM_WHILE_BATCH_ABOVE: str(p["oom_batch"] // 2 if retry else 0)}
    start = time.perf_counter()
    if in_process:
        from studio.worker.__main__ import main as worker_main

        os.environ.update(env)
        try:
            with captured() as log:
                worker_main([str(run_id), "--home", str(home.root)])
        finally:
            for key in env:  # the dry run's later phases must not fail the same way
                del os.environ[key]
        output = log.getvalue()
    else:
        limit = setup.get("phase_timeout_s", p["timeout_s"])
        try:
            proc = subprocess.run([sys.executable, "-m", "studio.worker", str(run_id), "--home", str(home.root)],
                                  env={**os.environ, **env}, capture_output=True, text=True, timeout=limit)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:  # what the store says of a killed worker is the figure then
            output = "".join(x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
                             for x in (e.stdout, e.stderr)) + f"\n(worker killed after {limit:.0f} s)"
    run = runs.get_run(db, run_id)
    return {"oom_retry": retry, "status": run["status"], "run_error": run.get("error"), "warnings": run["warnings"],
            "step": run.get("step"), "batch_size": p["oom_batch"], "injected": bool(env),
            "seconds": time.perf_counter() - start, "log_tail": output[-4000:]}


PHASES = {
    "engine": lambda s, ip: engine(s, "lora"),
    "plain": lambda s, ip: plain(s),
    "qlora": lambda s, ip: engine(s, "qlora"),
    "measure": lambda s, ip: measure(s),
    "oom-fail": lambda s, ip: oom(s, retry=False, in_process=ip),
    "oom-retry": lambda s, ip: oom(s, retry=True, in_process=ip),
}
