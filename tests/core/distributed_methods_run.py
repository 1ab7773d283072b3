"""Run by tests/core/test_distributed_methods.py under torchrun (2 gloo processes): every method trains
2 steps in one process group, with the DDP settings core/distributed.py picks for it.

argv: MODEL_DIR DATA_FILE OUT_DIR METHOD... ; rank 0 writes OUT_DIR/results.json {method: "ok" | error}.
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main() -> None:
    from studio.config import RunConfig
    from studio.core.distributed import world
    from studio.core.train import run_training

    model, data, out, names = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
    results = {}
    for name in names:
        options = {"dropout": 0.0} if name in ("lora", "dora", "qlora") else {}
        cfg = RunConfig.from_dict({
            "name": name, "task": "causal-lm", "model": model, "data": {"train": data, "max_length": 24},
            "method": {"name": name, **options},
            "training": {"max_steps": 2, "batch_size": 2, "device": "cpu", "packing": "off", "save_steps": 2,
                         "distributed": {"processes": 2}}})
        try:
            outcome = run_training(cfg, out / name, out / "models")
            results[name] = "ok" if outcome.status == "completed" and outcome.step == 2 else repr(outcome)
        except Exception as exc:  # the group may be unusable after; the test reports what was reached
            traceback.print_exc()
            results[name] = f"{type(exc).__name__}: {exc}"
        if world().main:
            (out / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
