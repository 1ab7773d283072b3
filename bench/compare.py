"""Ratio benchmark of the side-by-side comparer: swapping adapters vs loading the base again.

The comparer (studio.core.compare.Comparer) loads the base once and hot-swaps adapters onto it, so a
comparison of N adapters costs one base load plus N first loads, and every later switch is a swap.
This bench times, in one process and alternating the order (A,B / B,A ...), a fresh base load
(load_model + move to the device: what the comparer does once) against
  - swap: switching from one loaded adapter of a method to another (PEFT: set_adapter; ours: detach
    the active adapter's modules and restore the base tensors it replaced, put the other's back);
  - first load: an adapter read from its folder (PEFT: from_pretrained / load_adapter; ours: apply
    the method and copy its tensors in).
Reported: the median swap / base-load ratio per method (goal <= 0.05), and the first-load ratio for
information. No absolute time is asserted. Run `python bench/compare.py --help`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `studio` and `bench.throughput` from this checkout

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GOAL = 0.05
METHOD_OPTIONS = {"lora": {"r": 8}, "houlsby": {"size": 64}, "pfeiffer": {"size": 64},
                  "compacter": {"size": 64, "n": 4}, "bitfit": {}, "top_k": {"k": 2}, "ia3": {}}


def make_adapter(base: str | Path, out: Path, method: str, *, task: str = "causal-lm",
                 options: dict | None = None, labels: list[str] | None = None, seed: int = 0,
                 scale: float = 0.05) -> Path:
    """A saved adapter without training: apply the method, nudge what it trains, save like a run.

    Also used by the tests (tests/core/test_compare.py) to build adapters in a second."""
    import torch

    from studio import methods
    from studio.core.models import load_model, load_tokenizer
    from studio.methods.saving import save_method_weights, trainable_names

    torch.manual_seed(seed)
    opts = methods.parse_options(method, dict(options or {}))
    model = methods.get(method).apply(load_model(str(base), task, label_names=labels), opts, task)
    names = trainable_names(model)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in names:
                p.add_(torch.randn_like(p) * scale)
    out = Path(out)
    save_method_weights(model, out, method, opts, names)
    load_tokenizer(str(base)).save_pretrained(out)
    config = Path(base) / "config.json"
    meta = {"method": method, "method_options": dict(options or {}), "task": task, "base_model": str(base),
            "base_model_path": str(base),
            "base_config_sha256": hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None,
            "id2label": dict(enumerate(labels)) if labels else None}
    (out / "studio.json").write_text(json.dumps(meta, indent=2))
    return out


def time_base_load(folder: str, device: str) -> float:
    """Seconds for what Comparer.__init__ times as its one base load."""
    import gc

    import torch

    from studio.core.models import load_model

    start = time.perf_counter()
    model = load_model(folder, "causal-lm").to(device).eval()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    del model
    gc.collect()
    return seconds


def time_swap(comparer: Any, method: str, repeat: int) -> tuple[float, float]:
    """(hot swap between two loaded adapters of `method`, first load of one from its folder) seconds."""
    from studio.core.compare import BASE

    a, b = (f"{method}-a", f"{method}-b") if repeat % 2 == 0 else (f"{method}-b", f"{method}-a")
    comparer.activate(a)
    swap = comparer.activate(b)
    comparer.forget(a)  # the next activation reads a's folder again
    comparer.activate(BASE)
    first = comparer.activate(a)
    comparer.activate(BASE)
    return swap, first


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None,
                   help="model folder, .gguf file or sample:NAME (sample:smollm2 for the real figure); "
                        "default: a random Llama (--hidden, --layers) with the tests' tokenizer")
    p.add_argument("--methods", default="lora,houlsby", help="comma-separated methods to swap in")
    p.add_argument("--repeats", type=int, default=5, help="pairs per method; the median ratio is reported")
    p.add_argument("--hidden", type=int, default=256, help="hidden size of the default model")
    p.add_argument("--layers", type=int, default=4, help="layers of the default model")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its goal")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = p.parse_args(argv)
    unknown = [m for m in args.methods.split(",") if m not in METHOD_OPTIONS]
    if unknown:
        p.error(f"--methods: unknown {', '.join(unknown)}; choose from {', '.join(METHOD_OPTIONS)}")
    for name in ("repeats", "hidden", "layers"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    import transformers

    from bench.throughput import build_default_model
    from studio.core.compare import Comparer
    from studio.core.models import model_folder

    if args.threads:
        torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    try:
        if args.model:  # resolved once (a GGUF sample is converted here), so conversion is not timed
            folder = model_folder(args.model, work / "models")
        else:
            folder = str(build_default_model(work / "model", args.hidden, args.layers, 128))
        methods = args.methods.split(",")
        comparer = Comparer(folder, "causal-lm", models_dir=work / "models")
        for m in methods:
            for seed, tag in enumerate("ab"):  # two of each method: a swap goes from one to the other
                name = f"{m}-{tag}"
                comparer.add(name, make_adapter(folder, work / "adapters" / name, m, options=METHOD_OPTIONS[m],
                                                seed=seed))
        print(f"model: {args.model or f'random llama hidden={args.hidden} layers={args.layers}'} ({folder})")
        print(f"device: {comparer.device}, torch threads: {torch.get_num_threads()}, repeats: {args.repeats}")
        time_base_load(folder, comparer.device)  # warm-up: lazy imports, page cache, allocator
        for m in methods:
            time_swap(comparer, m, 0)
        head = f"{'method':<10} {'rep':>3} {'base load s':>12} {'swap s':>9} {'first load s':>13} {'ratio':>8}"
        print("\n" + head + "\n" + "-" * len(head))
        lines, ok = [], True
        for m in methods:
            ratios, firsts = [], []
            for i in range(args.repeats):
                if i % 2 == 0:
                    load = time_base_load(folder, comparer.device)
                    swap, first = time_swap(comparer, m, i)
                else:
                    swap, first = time_swap(comparer, m, i)
                    load = time_base_load(folder, comparer.device)
                ratios.append(swap / load)
                firsts.append(first / load)
                print(f"{m:<10} {i:>3} {load:>12.4f} {swap:>9.4f} {first:>13.4f} {swap / load:>8.4f}")
            ratio = statistics.median(ratios)
            ok &= ratio <= GOAL
            lines.append(f"{m} swap/base-load ratio: {ratio:.4f} (goal <= {GOAL})")
            lines.append(f"{m} first-load/base-load ratio: {statistics.median(firsts):.4f} (reading the adapter "
                         "folder the first time; for information)")
        print(f"\nnote: the comparer loaded its base {comparer.base_loads} time(s) for "
              f"{len(comparer.swaps)} swaps")
        for line in lines:
            print(line)
        sys.stdout.flush()
        return 1 if args.check and not ok else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
