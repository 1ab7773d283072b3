"""Exports of a LoRA trained on the bundled SmolLM2-135M-Instruct: seconds, size, and agreement with the
unexported model per format, each export reloaded by its consumer's loader (studio.library.verify).

The LoRA trains in this process through the engine (20 steps of the bundled pirate instructions);
then the adapter is exported as adapter-only, merged bf16 and GGUF f16 / q8_0 / q5_0 / q4_0. The
10 prompts are the bundled pirate eval prompts, recorded as the adapter's sample prompts so the
verification runs on them (greedy, 16 new tokens, teacher-forced on the unexported model's answer).
GGUF tokens/s is measured in llama.cpp's runtime when `llama-cpp-python` is importable; it is not a
dependency (PyPI has only its C++ source), so that column otherwise says why it is empty.

    python bench/export.py [--steps 20] [--models DIR] [--json] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SAMPLES = ROOT / "studio" / "resources" / "samples"
FORMATS = ("adapter-only", "merged-bf16", "gguf-f16", "gguf-q8_0", "gguf-q5_0", "gguf-q4_0")


def train_lora(work: Path, models: Path, steps: int) -> tuple[Path, float]:
    """A LoRA on sample:smollm2 trained by the engine; (adapter folder, seconds)."""
    from studio.config import DataSpec, MethodSpec, RunConfig, TrainingSpec
    from studio.core.train import run_training

    cfg = RunConfig(name="bench-export", task="causal-lm", model="sample:smollm2",
                    data=DataSpec(train=str(SAMPLES / "pirate_instructions.jsonl"), max_length=128),
                    method=MethodSpec("lora", {"r": 8}),
                    training=TrainingSpec(max_steps=steps, batch_size=4, learning_rate=2e-3, eval_steps=steps,
                                          save_steps=steps, logging_steps=max(1, steps // 4), seed=0))
    start = time.perf_counter()
    outcome = run_training(cfg, work / "run", models, adapter_dir=lambda: work / "adapter")
    adapter = Path(outcome.adapter_dir or work / "adapter")
    meta = json.loads((adapter / "studio.json").read_text())
    meta["sample_prompts"] = [p for p in (SAMPLES / "pirate_eval_prompts.txt").read_text().splitlines() if p][:10]
    (adapter / "studio.json").write_text(json.dumps(meta, indent=2))
    return adapter, time.perf_counter() - start


def export_one(fmt: str, adapter: Path, work: Path, models: Path) -> dict:
    """One export, timed; its verification record and size."""
    from studio.library import export, verify
    from studio.library.gguf_export import export_gguf
    from studio.modelinfo.facts import folder_size

    start = time.perf_counter()
    if fmt.startswith("gguf-"):
        out = work / f"smollm2-pirate-{fmt[5:]}.gguf"
        record = export_gguf(adapter, out, quant=fmt[5:], models_dir=models)
        size = out.stat().st_size
    else:
        folder = work / fmt
        if fmt == "merged-bf16":
            export.export_merged(adapter, folder, dtype="bf16", models_dir=models)
        else:
            export.export_adapter_only(adapter, folder, models_dir=models)
        record, size, out = verify.read_record(folder) or {}, folder_size(folder), folder
    return {"format": fmt, "seconds": time.perf_counter() - start, "size_bytes": size, "path": str(out),
            "verified": record.get("verified"), "agreement": record.get("agreement"),
            "max_logit_diff": record.get("max_logit_diff"), "tokens": record.get("tokens"),
            "tokenizer_agreement": record.get("tokenizer_agreement"), "reason": record.get("reason")}


def llama_cpp_speed(gguf: Path, prompts: list[str], new_tokens: int = 64) -> float | str:
    """Generated tokens/s in llama.cpp's runtime, or why there is no figure."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return "n/a: llama-cpp-python is not installed (PyPI ships only its C++ source; see bench/README.md)"
    llm = Llama(model_path=str(gguf), n_ctx=512, verbose=False, seed=0)
    tokens, start = 0, time.perf_counter()
    for p in prompts[:3]:
        out = llm.create_chat_completion([{"role": "user", "content": p}], max_tokens=new_tokens, temperature=0)
        tokens += out["usage"]["completion_tokens"]
    return tokens / (time.perf_counter() - start)


def markdown(rows: list[dict]) -> str:
    """The README table."""
    lines = ["| format | seconds | size MB | verified | token agreement | max logit diff | llama.cpp tok/s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        speed = r.get("llama_cpp_tok_s")
        speed = f"{speed:.0f}" if isinstance(speed, float) else "n/a" if speed else ""
        agree = f"{r['agreement']:.3f}" if r.get("agreement") is not None else ""
        diff = f"{r['max_logit_diff']:.3g}" if r.get("max_logit_diff") is not None else ""
        state = "yes" if r.get("verified") else f"no: {r.get('reason')}"
        lines.append(f"| {r['format']} | {r['seconds']:.0f} | {r['size_bytes'] / 1e6:.1f} | {state} | {agree} | "
                     f"{diff} | {speed} |")
    return "\n".join(lines)


def main() -> int:
    """Train, export every format, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", type=Path, help="where the SmolLM2 GGUF is converted (reused between runs)")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--json", action="store_true", help="print JSON rows")
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    models = args.models or Path(tempfile.gettempdir()) / "studio-bench-models"
    with tempfile.TemporaryDirectory(prefix="studio-bench-export-") as tmp:
        work = Path(tmp)
        print(f"training a LoRA on sample:smollm2 ({args.steps} steps) …", file=sys.stderr, flush=True)
        adapter, train_s = train_lora(work, models, args.steps)
        print(f"trained in {train_s:.0f} s", file=sys.stderr, flush=True)
        prompts = json.loads((adapter / "studio.json").read_text())["sample_prompts"]
        rows = []
        for fmt in args.formats:
            print(f"exporting {fmt} …", file=sys.stderr, flush=True)
            row = export_one(fmt, adapter, work, models)
            if fmt.startswith("gguf-"):
                row["llama_cpp_tok_s"] = llama_cpp_speed(Path(row["path"]), prompts)
            rows.append(row)
            print(json.dumps(row, default=str), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    if args.markdown or not args.json:
        print(markdown(rows))
        reasons = {r["llama_cpp_tok_s"] for r in rows if isinstance(r.get("llama_cpp_tok_s"), str)}
        for reason in reasons:
            print(f"\nllama.cpp tok/s: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
