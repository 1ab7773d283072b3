"""The GPU benchmark of bench/gpu.sh, side by side in one run (issue 10, point 8):

1. LoRA r16 on every linear layer of a ~1B Llama (random weights, bf16), ragged instruction data up to
   2048 tokens: real tokens/s and peak memory of the studio engine (packing auto, activation
   checkpointing on, kernels auto) ÷ a plain Trainer + PEFT script with random padded batches;
2. QLoRA ÷ LoRA peak memory (the engine, same model and data);
3. the memory estimate ÷ the measured peak (`studio probe --measure`'s function);
4. a deliberately oversized micro-batch through the real worker, with and without training.oom_retry.

`--dry-run` runs the same phases on a CPU with the tests' tiny Llama in one process (an
out-of-memory error is injected there, as no GPU can run out); on a GPU each phase has a child
process of its own. Figures go to stdout, and to $OUT/gpu_bench.json and gpu_bench.log when --out
(default $OUT) is set.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(Path(__file__).resolve().parent)):
    if path not in sys.path:
        sys.path.insert(0, path)  # `studio`, `tests.tiny` and the bench's own modules from this checkout

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gpu_report  # noqa: E402
import gpu_setup  # noqa: E402

PACKAGES = ("torch", "transformers", "peft", "accelerate", "datasets", "bitsandbytes", "liger-kernel", "triton",
            "tokenizers", "huggingface-hub", "pyarrow", "sqlite-utils")
PHASE_ORDER = ("engine", "plain", "qlora", "measure", "oom-fail", "oom-retry")


class Log:
    """Print and keep every line (and each child's output) for $OUT/gpu_bench.log."""

    def __init__(self, out: Path | None):
        self.file = (out / "gpu_bench.log").open("w", encoding="utf-8") if out else None

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.raw(line + "\n")

    def raw(self, text: str) -> None:
        if self.file:
            self.file.write(text)
            self.file.flush()


def versions() -> str:
    """Installed versions of the packages that decide the figures."""
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} -")
    return ", ".join(found)


def cuda_device() -> str | None:
    """The GPU's name from nvidia-smi (the parent never starts CUDA: its context would cost memory)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def child(phase: str, work: Path, timeout_s: float | None) -> int:
    """Run one phase in this (child) process; the result goes to work/result-PHASE.json."""
    import gpu_phases

    setup = json.loads((work / "setup.json").read_text())
    if timeout_s:
        # A worker this phase starts must end before the parent gives up on the phase (and kills
        # only this process, which would leave the worker holding the GPU).
        setup["phase_timeout_s"] = max(10.0, timeout_s - 15)
    if phase == "setup":
        result = do_setup(work, gpu_setup.Profile(**setup["profile"]), setup["device"])
    else:
        result = gpu_phases.PHASES[phase](setup, False)
    (work / f"result-{phase}.json").write_text(json.dumps(result, indent=2))
    return 0


def do_setup(work: Path, profile: gpu_setup.Profile, device: str) -> dict[str, Any]:
    """Build the model and write the data; what section 0 reports."""
    folder = gpu_setup.build_model(work / "model", profile, device)
    data, lengths = gpu_setup.write_data(work, folder, profile)
    gpu_setup.save_setup(work, profile, folder, data, device)
    return {"model": str(folder), "lengths": lengths}


class Runner:
    """Runs the phases in order within the time budget, in children (GPU) or in this process (dry run)."""

    def __init__(self, work: Path, log: Log, isolate: bool, budget_s: float, timeout_s: int):
        self.work, self.log, self.isolate, self.timeout_s = work, log, isolate, timeout_s
        self.deadline = time.monotonic() + budget_s

    def __call__(self, phase: str) -> dict[str, Any]:
        left = self.deadline - time.monotonic()
        if left < 20:
            return {"error": "skipped: the time budget is spent (--budget-s)"}
        self.log(f"-- {phase} ...")
        start = time.perf_counter()
        try:
            result = self._child(phase, min(self.timeout_s, left)) if self.isolate else self._here(phase)
        except Exception as e:  # one failing phase must not hide the others' figures
            result = {"error": f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"}
        result["wall_s"] = round(time.perf_counter() - start, 1)
        self.log(f"   {phase}: {'FAILED: ' + result['error'] if 'error' in result else 'done'} "
                 f"in {result['wall_s']} s")
        return result

    def _here(self, phase: str) -> dict[str, Any]:
        import gpu_phases

        setup = json.loads((self.work / "setup.json").read_text())
        return gpu_phases.PHASES[phase](setup, True)

    def _child(self, phase: str, timeout: float) -> dict[str, Any]:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--work", str(self.work),
               "--timeout", str(timeout)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired as e:
            self.log.raw(f"--- {phase} output (timed out)\n{_text(e.stdout)}{_text(e.stderr)}\n")
            return {"error": f"timed out after {timeout:.0f} s"}
        self.log.raw(f"--- {phase} output\n{proc.stdout}{proc.stderr}\n")
        result_file = self.work / f"result-{phase}.json"
        if proc.returncode != 0 or not result_file.is_file():
            tail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            return {"error": f"exit {proc.returncode}: {tail}"}
        return json.loads(result_file.read_text())


def _text(b: Any) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true", help="the tiny model on this machine's CPU (or GPU), in seconds")
    p.add_argument("--out", default=os.environ.get("OUT") or None,
                   help="folder for gpu_bench.json and gpu_bench.log (default: $OUT)")
    p.add_argument("--only", default=",".join(PHASE_ORDER),
                   help=f"comma-separated phases to run (default: all of {','.join(PHASE_ORDER)})")
    p.add_argument("--budget-s", type=float, default=None,
                   help="stop starting phases after this many seconds (default 420 on a GPU, none in a dry run)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (model, data, run homes)")
    p.add_argument("--isolate", action="store_true",
                   help="dry run: each phase in a child process, as on a GPU (slower: every child imports torch)")
    p.add_argument("--phase", help=argparse.SUPPRESS)  # internal: run one phase in this child process
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.only.split(",")) - set(PHASE_ORDER)
    if unknown:
        p.error(f"--only: unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(PHASE_ORDER)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return child(args.phase, Path(args.work), args.timeout)
    profile = gpu_setup.DRY if args.dry_run else gpu_setup.GPU
    gpu = cuda_device()
    if not args.dry_run and gpu is None:
        print("gpu_bench: no CUDA device (nvidia-smi found none); use --dry-run on a CPU", file=sys.stderr)
        return 2
    device = "cuda" if gpu else "cpu"
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    log = Log(out)
    work = Path(tempfile.mkdtemp(prefix="studio-gpu-bench-"))
    isolate = args.isolate or not args.dry_run
    budget = args.budget_s if args.budget_s is not None else (None if args.dry_run else 420.0)
    runner = Runner(work, log, isolate, budget if budget is not None else 1e9, profile.timeout_s)
    wanted = [ph for ph in PHASE_ORDER if ph in args.only.split(",")]
    if not isolate and "measure" in wanted:
        # In one process, freed memory is reused: the pre-flight's RSS growth (a few hundred KiB for the
        # tiny model) is only visible before the other phases have grown the heap.
        wanted.insert(0, wanted.pop(wanted.index("measure")))
    if "qlora" in wanted and importlib.util.find_spec("bitsandbytes") is None:
        wanted.remove("qlora")
        log("note: bitsandbytes is not installed: section 2 (QLoRA) is skipped")
    log("DRY RUN (the same code, tiny model): figures exercise the code, they are not GPU figures"
        if args.dry_run else "GPU run")
    log(f"device: {gpu or 'cpu'}; python {sys.version.split()[0]}; {versions()}")
    log(f"model: {profile.describe()}")
    gpu_setup.save_setup(work, profile, work / "model", {}, device)
    results: dict[str, Any] = {"dry_run": args.dry_run, "device": gpu or "cpu", "versions": versions(),
                               "profile": profile.describe()}
    try:
        results["setup"] = runner("setup") if isolate else _setup_here(runner, work, profile, device)
        if "error" in results["setup"]:
            log(f"setup failed: {results['setup']['error']}")
            return 1
        for phase in wanted:
            results[phase] = runner(phase)
        ok = gpu_report.report(results, profile, log)
    finally:
        if out:
            (out / "gpu_bench.json").write_text(json.dumps(results, indent=2, default=str))
            log(f"figures written to {out / 'gpu_bench.json'}")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def _setup_here(runner: Runner, work: Path, profile: gpu_setup.Profile, device: str) -> dict[str, Any]:
    start = time.perf_counter()
    runner.log("-- setup ...")
    result = do_setup(work, profile, device)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    return result


if __name__ == "__main__":
    sys.exit(main())
