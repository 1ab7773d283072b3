"""Every fine-tuning method on the same classification task: trainable share, accuracy, time, memory.

Each method trains `sample:minilm` (the bundled BERT-style MiniLM, 22.7M parameters) on the bundled
topics sample (800 texts, 4 labels; a quarter held out) with the same steps, seed and batch, in its
own fresh process so peak memory is that method's alone. Learning rates are per method (METHODS
below, printed in the table): what works for a short run of each, which differs by orders of
magnitude (soft prompts 0.3, full fine-tuning 1e-4). Full fine-tuning is the baseline: the goal
is every PEFT method within 3 accuracy points of it.

Times are for this machine only and are noisy; compare rows of one table, not across machines.
Run `python bench/methods.py --help`; `--markdown` prints the table as in the README.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Method -> (options, learning rate). Options are the methods' defaults unless noted.
METHODS: dict[str, tuple[dict, float]] = {
    "full": ({}, 1e-4),
    "lora": ({"r": 8}, 2e-3),
    "dora": ({"r": 8}, 2e-3),
    "qlora": ({"r": 8}, 2e-3),
    "ia3": ({}, 1e-2),
    "prefix": ({}, 1e-3),  # with the reparameterisation MLP; 1e-2 diverges to chance here
    "prompt": ({}, 3e-1),
    "houlsby": ({"size": 64}, 1e-3),
    "pfeiffer": ({"size": 64}, 1e-3),
    "compacter": ({"size": 64, "n": 4}, 3e-3),
    "bitfit": ({}, 5e-3),
    "top_k": ({"k": 2}, 2e-4),
}


def train_one(method: str, model: str, data: str, steps: int, batch: int, seed: int) -> dict:
    """Train one method in this process and return its row (accuracy before/after, time, memory)."""
    from studio.config import DataSpec, MethodSpec, RunConfig, TrainingSpec
    from studio.core.train import run_training

    options, lr = METHODS[method]
    cfg = RunConfig(
        name=f"bench-{method}", task="classification", model=model,
        data=DataSpec(train=data, val_fraction=0.25, max_length=64),
        method=MethodSpec(method, dict(options)),
        training=TrainingSpec(max_steps=steps, batch_size=batch, learning_rate=lr, eval_steps=steps,
                              save_steps=steps, logging_steps=max(1, steps // 10), seed=seed))
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        start = time.perf_counter()
        outcome = run_training(cfg, Path(tmp) / "run", Path(tmp) / "models")
        wall = time.perf_counter() - start
    return {
        "method": method, "learning_rate": lr, "steps": outcome.step,
        "trainable": outcome.trainable_params, "total": outcome.total_params,
        "accuracy_before": outcome.first_metrics.get("eval_accuracy"),
        "accuracy": outcome.final_metrics.get("eval_accuracy"),
        "eval_loss": outcome.final_metrics.get("eval_loss"),
        "wall_s": wall, "peak_mib": peak_memory_mib(),
    }


def peak_memory_mib() -> float:
    """Peak CUDA memory allocated when training ran on a GPU, else this process's peak RSS."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_all(methods: list[str], args: argparse.Namespace) -> list[dict]:
    """Each method in a fresh interpreter, one after another; a failure becomes a row with its error."""
    rows = []
    for method in methods:
        cmd = [sys.executable, __file__, "--one", method, "--steps", str(args.steps), "--batch", str(args.batch),
               "--seed", str(args.seed), "--model", args.model, "--data", args.data]
        print(f"training {method} …", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode == 0 and lines:
            rows.append(json.loads(lines[-1]))
        else:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            rows.append({"method": method, "error": f"exit {proc.returncode}: {tail}"})
    return rows


def table(rows: list[dict], markdown: bool) -> str:
    """The result table; accuracy deltas are against full fine-tuning."""
    base = next((r.get("accuracy") for r in rows if r["method"] == "full"), None)
    head = ["method", "lr", "trainable", "trainable %", "acc. before", "accuracy", "Δ vs full", "wall s", "peak MiB"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["method"], "—", "—", "—", "—", "—", "—", "—", r["error"][:60]])
            continue
        delta = "" if base is None or r["method"] == "full" else f"{100 * (r['accuracy'] - base):+.1f}"
        body.append([r["method"], f"{r['learning_rate']:g}", f"{r['trainable']:,}", f"{100 * r['trainable'] / r['total']:.3f}",
                     _pct(r["accuracy_before"]), _pct(r["accuracy"]), delta, f"{r['wall_s']:.0f}",
                     f"{r['peak_mib']:.0f}"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(str(x).rjust(w) for x, w in zip(row, widths)) for row in [head, *body])


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: all)")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps per method (default 60)")
    p.add_argument("--batch", type=int, default=16, help="examples per step (default 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="sample:minilm", help="model reference (default sample:minilm)")
    p.add_argument("--data", default=str(ROOT / "studio" / "resources" / "samples" / "topics.jsonl"))
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--one", metavar="METHOD", help=argparse.SUPPRESS)  # child process mode
    args = p.parse_args(argv)
    if args.one:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        print(json.dumps(train_one(args.one, args.model, args.data, args.steps, args.batch, args.seed)))
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s): {', '.join(unknown)}; known: {', '.join(METHODS)}")
    rows = run_all(methods, args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"{args.model}, topics sample, {args.steps} steps × batch {args.batch}, seed {args.seed}")
    print(table(rows, args.markdown))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
