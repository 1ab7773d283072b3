"""Ratio benchmarks of the training engine, measured side by side in one process.

1. Engine vs plain script: the studio's `run_training` (NullReporter) against a hand-written
   `transformers.Trainer` + `peft.get_peft_model` script on the same model, tokens, batch size,
   steps, seed and LoRA settings. Reported: median of tokens/s(engine) / tokens/s(plain).
2. SQLite logging on vs off: the engine with the worker's real `Recorder` (writer thread, temp SQLite
   database, logging_steps=1) against the engine with a NullReporter. Reported: median of
   step time(on) / step time(off).

Machines are noisy, so only ratios of runs made next to each other (alternating A,B / B,A) are
reported; nothing here asserts an absolute time. Run `python bench/throughput.py --help`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
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
    sys.path.insert(0, str(ROOT))  # `studio` and `tests.tiny` from this checkout

from bench.timing import Result, Timed, alternate, loop_timer, median_ratio, print_table, quiet, quiet_fd  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The engine holds out a validation split above 50 rows (data.val_fraction defaults to 0.1 there, and
# cannot be 0). A validation split would add an eval on start and a final eval that the plain script
# does not do, so the bench keeps the training file at <= 50 rows and lets the Trainer loop over epochs.
MAX_ROWS = 50
LORA = {"r": 8, "alpha": 16.0, "dropout": 0.05, "targets": "qv"}  # the engine's defaults, spelled out
LEARNING_RATE = 2e-4
SEED = 0
WORDS = ("the quick brown fox jumps over lazy dog question answer capital france paris positive negative "
         "neutral sports tech food weather label text user assistant system instruction input output "
         "prompt completion").split()


class Bench:
    """Shared setup (model folder, data, settings) and the kinds of run: engine (with or without the
    recorder) and plain."""

    def __init__(self, args: argparse.Namespace, work: Path):
        from studio.config import RunConfig
        from studio.core.models import model_folder
        from studio.core.train import pick_device

        self.args, self.work = args, work
        self.models_dir = work / "models"
        if args.model:
            # Resolve once (a GGUF sample is converted here), so both sides load the same folder.
            self.folder = model_folder(args.model, self.models_dir)
        else:
            self.folder = str(build_default_model(work / "model", args.hidden, args.layers, args.seq))
        if args.batch > MAX_ROWS:
            raise SystemExit(f"--batch must be <= {MAX_ROWS} (the engine holds out validation above "
                             f"{MAX_ROWS} rows, and the bench keeps both sides on the same work)")
        self.n_rows = args.batch * (MAX_ROWS // args.batch)
        self.texts = make_texts(self.folder, self.n_rows, args.seq)
        self.train_file = work / "train.jsonl"
        self.train_file.write_text("".join(json.dumps({"text": t}) + "\n" for t in self.texts), encoding="utf-8")
        self.runs = 0
        cfg = self.config(args.steps)
        self.device, self.precision = pick_device(RunConfig.from_dict(cfg).training)

    def config(self, steps: int, logging_steps: int = 1, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The engine's run config: no validation, no checkpoint or eval inside `steps`."""
        return {
            "name": "bench", "task": "causal-lm", "model": self.folder,
            "data": data or {"train": str(self.train_file), "format": "text", "max_length": self.args.seq},
            "method": {"name": "lora", **LORA},
            "training": {"max_steps": steps, "batch_size": self.args.batch, "learning_rate": LEARNING_RATE,
                         "save_steps": steps + 1, "eval_steps": steps + 1, "logging_steps": logging_steps,
                         "seed": SEED},
        }

    def expected_tokens(self, steps: int) -> int:
        # Every row is exactly --seq tokens and the row count is a multiple of the batch: no padding,
        # no short last batch.
        return steps * self.args.batch * self.args.seq

    def _run_dir(self) -> Path:
        self.runs += 1
        return self.work / "runs" / str(self.runs)

    # --- (a) the engine
    def engine(self, section: str, variant: str, repeat: int, steps: int, recorder: bool = False,
               data: dict[str, Any] | None = None) -> Result:
        """One engine run; `data` replaces the fixed-length texts (then tokens are not checked)."""
        from studio.config import RunConfig
        from studio.core.train import NullReporter, run_training

        cfg_dict = self.config(steps, data=data)
        cfg = RunConfig.from_dict(cfg_dict)
        extra: dict[str, Any] = {}
        rec = None
        if recorder:
            from studio.store import runs
            from studio.store.db import open_db
            from studio.worker.recorder import Recorder

            db_path = self.work / "studio.db"
            db = open_db(db_path)
            run_id = runs.create_run(db, name=cfg.name, config=cfg_dict, model=cfg.model, method="lora",
                                     task=cfg.task, max_steps=steps)
            runs.set_status(db, run_id, "running")
            rec = Recorder(db_path, run_id, device=self.device).start()
            reporter = Timed(rec)
        else:
            reporter = Timed(NullReporter())
        t0 = time.perf_counter()
        log = io.StringIO()  # the engine's log lines (packing: ...)
        try:
            with quiet(), contextlib.redirect_stderr(log):
                outcome = run_training(cfg, self._run_dir(), self.models_dir, reporter=reporter)
        finally:
            if rec is not None:
                rec.flush_now()
                rec.close()
        total = time.perf_counter() - t0
        if outcome.status != "completed":
            raise RuntimeError(f"engine run ended {outcome.status}")
        timer = reporter.timer
        if rec is not None:
            rows = list(db.query("SELECT count(*) AS n FROM metrics WHERE run_id = ? AND name = 'train_loss'",
                                 [run_id]))
            extra["logged_losses"] = rows[0]["n"]
            db.conn.close()
        if timer.save_s:
            extra["save_s"] = timer.save_s
        packing = next((line.split()[1] for line in log.getvalue().splitlines() if line.startswith("packing:")), "")
        extra["packing"] = packing
        expected = self.expected_tokens(steps) if data is None else timer.tokens_seen
        if timer.tokens_seen != expected:
            print(f"warning: the engine counted {timer.tokens_seen} tokens, expected {expected}", file=sys.stderr)
        return Result(section, variant, repeat, timer.seconds, timer.tokens_seen or expected, timer.steps, total,
                      timer.cpu_seconds, extra, timer.losses)

    # --- (b) the plain script a user would write
    def plain(self, section: str, variant: str, repeat: int, steps: int) -> Result:
        import datasets
        import transformers
        from peft import LoraConfig, get_peft_model
        from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer,
                                  TrainingArguments)

        from studio.methods.targets import target_modules

        t0 = time.perf_counter()
        transformers.set_seed(SEED)
        tokenizer = AutoTokenizer.from_pretrained(self.folder)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.folder)
        lora = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                          target_modules=target_modules(model.config.model_type, LORA["targets"]),
                          task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
        seq = self.args.seq
        ds = datasets.Dataset.from_dict({"text": self.texts}).map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=seq), batched=True, remove_columns=["text"])
        targs = TrainingArguments(
            output_dir=str(self._run_dir()), max_steps=steps, per_device_train_batch_size=self.args.batch,
            learning_rate=LEARNING_RATE, logging_steps=1, save_strategy="no", report_to="none", seed=SEED,
            disable_tqdm=True, use_cpu=self.device == "cpu", bf16=self.precision == "bf16",
            fp16=self.precision == "fp16")
        timer = loop_timer()
        trainer = Trainer(model=model, args=targs, train_dataset=ds,
                          data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False), callbacks=[timer])
        t1 = time.perf_counter()
        with quiet():
            trainer.train()
        train_s = time.perf_counter() - t1
        total = time.perf_counter() - t0
        return Result(section, variant, repeat, timer.seconds, self.expected_tokens(steps), timer.steps, total,
                      timer.cpu_seconds, {"train_call_s": train_s})


def recorder_callback_cost(db_path: Path, calls: int = 500) -> float:
    """Seconds the Recorder's Trainer callbacks take per logged step (on_step_end + on_log), no thread."""
    from types import SimpleNamespace

    from studio.store import runs
    from studio.store.db import open_db
    from studio.worker.recorder import Recorder

    db = open_db(db_path)
    run_id = runs.create_run(db, name="probe", config={}, model="probe", method="lora", task="causal-lm",
                             max_steps=calls)
    db.conn.close()
    rec = Recorder(db_path, run_id)  # not started: only the callbacks' own cost is measured
    forward = rec.callbacks[0]
    state = SimpleNamespace(global_step=0, num_input_tokens_seen=0)
    control = SimpleNamespace(should_training_stop=False, should_save=False)
    logs = {"loss": 1.0, "grad_norm": 0.5, "learning_rate": 2e-4, "epoch": 0.1, "num_input_tokens_seen": 0,
            "train_runtime": 1.0, "train_tokens_per_second": 1000.0}
    t0 = time.perf_counter()
    for _ in range(calls):
        state.global_step += 1
        state.num_input_tokens_seen += 1024
        forward.on_step_end(None, state, control)
        forward.on_log(None, state, control, logs=logs)
    return (time.perf_counter() - t0) / calls


def build_default_model(folder: Path, hidden: int, layers: int, seq: int) -> Path:
    """A small random Llama with the tests' byte-level tokenizer, saved to `folder`."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from tests.tiny import tiny_tokenizer

    with quiet_fd():  # the tokenizers trainer writes its progress straight to the stdout file
        tok = tiny_tokenizer()
    heads = max(1, hidden // 64)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 8 * 8,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                      max_position_embeddings=max(256, seq), bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(SEED)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_texts(folder: str, n: int, seq: int) -> list[str]:
    """n texts of at least seq+1 tokens each, so both sides cut every row to exactly seq tokens."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    rng = random.Random(SEED)
    texts = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(seq + 1)]
        while len(tok(" ".join(words), add_special_tokens=False)["input_ids"]) <= seq:
            words += [rng.choice(WORDS) for _ in range(seq)]
        texts.append(" ".join(words))
    return texts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None,
                   help="model folder, .gguf file or sample:NAME (e.g. sample:smollm2); default: a random "
                        "Llama (--hidden, --layers) with the tests' tokenizer")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps per timed run")
    p.add_argument("--batch", type=int, default=8, help="examples per step (<= 50)")
    p.add_argument("--seq", type=int, default=None,
                   help="tokens per example (every example has exactly this many; default 128); with --ragged the "
                        "longest example (default 256)")
    p.add_argument("--repeats", type=int, default=3, help="pairs of runs per comparison; the median ratio is reported")
    p.add_argument("--hidden", type=int, default=256, help="hidden size of the default model")
    p.add_argument("--layers", type=int, default=4, help="layers of the default model")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (0: torch's default, one per core); 1 keeps busy machines from "
                        "stalling on thread contention")
    p.add_argument("--warmup-steps", type=int, default=3, help="steps of the untimed warm-up runs (0: none)")
    p.add_argument("--only", choices=("plain", "sqlite", "ragged"), help="run one comparison only")
    p.add_argument("--ragged", action="store_true",
                   help="run only the ragged comparison (= --only ragged): the engine with packing vs a plain "
                        "script with random padded batches, on instruction data of lognormal lengths")
    p.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its goal")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = p.parse_args(argv)
    if args.ragged:
        args.only = "ragged"
    if args.seq is None:
        args.seq = 256 if args.only == "ragged" else 128
    if args.threads < 0:
        p.error("--threads must be >= 0")
    for name in ("steps", "batch", "seq", "repeats", "hidden", "layers"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.seq < 8:
        p.error("--seq must be >= 8 (the engine's smallest data.max_length)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import datasets
    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", category=FutureWarning)
    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    try:
        bench = Bench(args, work)
        print(f"model: {args.model or f'random llama hidden={args.hidden} layers={args.layers}'} ({bench.folder})")
        print(f"device: {bench.device} {bench.precision}, torch threads: {torch.get_num_threads()}, "
              f"steps: {args.steps}, batch: {args.batch}, seq: {args.seq}, rows: {bench.n_rows}, "
              f"repeats: {args.repeats}")
        if args.warmup_steps and args.only != "ragged":  # the ragged comparison warms up its own runs
            # First runs pay for lazy imports and allocator growth; neither side should carry that.
            bench.engine("warmup", "engine", 0, args.warmup_steps)
            if args.only != "sqlite":
                bench.plain("warmup", "plain", 0, args.warmup_steps)
            if args.only != "plain":
                bench.engine("warmup", "engine+sqlite", 0, args.warmup_steps, recorder=True)
        results: list[Result] = []
        lines: list[str] = []
        notes: list[str] = []
        ok = True
        if args.only in (None, "plain"):
            pairs = alternate(args.repeats, lambda i: bench.engine("plain", "engine", i, args.steps),
                              lambda i: bench.plain("plain", "plain", i, args.steps))
            results += [r for pair in pairs for r in pair]
            ratio = median_ratio(pairs, "tokens_per_s")
            ok &= ratio >= 1.00
            lines.append(f"tokens/s ratio engine/plain: {ratio:.3f} (goal >= 1.00)")
            saves = [a.extra.get("save_s", 0.0) for a, _ in pairs]
            if any(saves):
                unsaved = statistics.median((a.tokens / (a.loop_s - a.extra.get("save_s", 0.0))) / b.tokens_per_s
                                            for a, b in pairs)
                notes.append(f"note: the engine writes a checkpoint when the loop ends (median "
                             f"{statistics.median(saves):.2f} s inside the loop; the plain script saves nothing); "
                             f"without it the ratio would be {unsaved:.3f}")
        if args.only in (None, "sqlite"):
            pairs = alternate(args.repeats,
                              lambda i: bench.engine("sqlite", "engine+sqlite", i, args.steps, recorder=True),
                              lambda i: bench.engine("sqlite", "engine", i, args.steps))
            results += [r for pair in pairs for r in pair]
            ratio = median_ratio(pairs, "step_ms")
            ok &= ratio <= 1.01
            per_step = recorder_callback_cost(bench.work / "probe.db")
            step_ms = statistics.median(b.step_ms for _, b in pairs)
            notes.append(f"note: the recorder's callbacks cost {per_step * 1e6:.0f} us per logged step on the "
                         f"training thread ({100 * per_step / (step_ms / 1000):.3f}% of the median step of "
                         f"{step_ms:.0f} ms); its writer thread commits once a second")
            lines.append(f"step-time ratio sqlite on/off: {ratio:.3f} (goal <= 1.01)")
        if args.only == "ragged":
            from bench.ragged import run_ragged

            ragged, more_notes, more_lines, met = run_ragged(bench, LORA, LEARNING_RATE, SEED)
            results, notes, lines, ok = results + ragged, notes + more_notes, lines + more_lines, ok and met
        print()
        print_table(results)
        print()
        for line in notes + lines:
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
