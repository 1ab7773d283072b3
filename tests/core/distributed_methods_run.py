"""Run by tests/core/test_distributed_methods.py under torchrun (2 gloo processes), all in one process
group: every method trains 2 steps on a causal LM with the DDP settings core/distributed.py picks for
it; LoRA also trains a classifier and DPO; a pause seen by rank 0 alone stops both ranks; and ranks
that see different checkpoints (no shared run folder) refuse to resume.

argv: SPEC.json {"gpt2", "bert", "text", "labels", "pairs", "out", "methods"} (optional "device", "strategy",
"methods_only": the methods alone, for FSDP on GPUs); rank 0 writes
OUT/results.json {case: "ok" | what went wrong}.
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from studio.core.train import NullReporter


class PauseAtFirstStep(NullReporter):
    """What rank 0's recorder does when a pause command arrives, at step 1 (the other rank never hears it)."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        reporter = self

        class _Pause(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if state.global_step == 1:
                    control.should_training_stop = control.should_save = True
                    reporter.stop_reason = "paused"

        self.callbacks = [_Pause()]


def config(spec: dict, name: str, method: str, **extra: Any) -> Any:
    from studio.config import RunConfig

    options = {"dropout": 0.0} if method in ("lora", "dora", "qlora") else {}
    base = {"name": name, "task": "causal-lm", "model": spec["gpt2"],
            "data": {"train": spec["text"], "max_length": 24}, "method": {"name": method, **options},
            "training": {"max_steps": 2, "batch_size": 2, "device": spec.get("device", "cpu"), "packing": "off",
                         "save_steps": 2, "distributed": {"processes": 2, "strategy": spec.get("strategy", "ddp")}}}
    return RunConfig.from_dict({**base, **extra})


def main() -> None:
    import torch.distributed as dist

    from studio.core.distributed import world
    from studio.core.train import run_training

    spec = json.loads(Path(sys.argv[1]).read_text())
    out, w = Path(spec["out"]), world()
    cases = [(m, config(spec, m, m), None) for m in spec["methods"]]
    finish = not spec.get("methods_only")  # FSDP on GPUs: only the methods it takes
    if finish:
        cases += [("classification", config(spec, "cls", "lora", task="classification", model=spec["bert"],
                                            data={"train": spec["labels"], "max_length": 24}), None),
                  ("dpo", config(spec, "dpo", "lora", task="preference",
                                 data={"train": spec["pairs"], "max_length": 40}, preference={"loss": "dpo"}), None),
                  ("pause", config(spec, "pause", "lora"), PauseAtFirstStep() if w.main else NullReporter())]
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, cfg, reporter in cases:
        try:
            outcome = run_training(cfg, out / name, out / "models", reporter=reporter)
            every = [None] * w.size
            dist.all_gather_object(every, (outcome.status, outcome.step))  # what each rank ended with
            wanted = [("paused", 1)] * w.size if name == "pause" else [("completed", 2)] * w.size
            results[name] = "ok" if every == wanted else f"ranks ended {every}, wanted {wanted}"
        except Exception as exc:  # the group may be unusable after; the test reports what was reached
            traceback.print_exc()
            (out / f"error-{name}-rank{w.rank}.txt").write_text(traceback.format_exc())
            results[name] = f"{type(exc).__name__}: {exc}"
        if w.main:
            (out / "results.json").write_text(json.dumps(results))
    if not finish:
        return
    # Only rank 0 sees a complete checkpoint (a node without the shared run folder): every rank refuses.
    folder = out / f"unshared-{w.rank}"
    if w.main:
        (folder / "checkpoints" / "checkpoint-1").mkdir(parents=True)
        (folder / "checkpoints" / "checkpoint-1" / "COMPLETE").write_text("1")
    try:
        run_training(config(spec, "unshared", "lora"), folder, out / "models", resume=True)
        result = "trained on"
    except Exception as exc:
        result = "ok" if "do not see the same checkpoints" in str(exc) else repr(exc)
    every = [None] * w.size
    dist.all_gather_object(every, result)
    if w.main:
        results["unshared"] = "ok" if set(every) == {"ok"} else repr(every)
        (out / "results.json").write_text(json.dumps(results))

if __name__ == "__main__":
    main()
