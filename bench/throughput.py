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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `studio` and `tests.tiny` from this checkout

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


@dataclass
class Result:
    """One timed training run."""

    section: str
    variant: str
    repeat: int
    loop_s: float  # on_train_begin -> on_train_end
    tokens: int  # non-padding tokens processed in the loop
    steps: int
    total_s: float  # the whole call, model loading included (for information only)
    cpu_s: float  # CPU time of the whole process (all threads) in the loop window
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.loop_s

    @property
    def step_ms(self) -> float:
        return 1000 * self.loop_s / self.steps


def loop_timer() -> Any:
    """A Trainer callback stamping the training loop's start and end (the same window in every run)."""
    from transformers import TrainerCallback

    class LoopTimer(TrainerCallback):
        begin = end = None
        tokens_seen = steps = 0
        save_s = 0.0  # time inside the loop spent writing checkpoints (log/step end -> on_save)
        last = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.cpu_begin = time.process_time()
            self.begin = self.last = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.last = time.perf_counter()

        def on_log(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.last = time.perf_counter()

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            now = time.perf_counter()
            self.save_s += now - self.last
            self.last = now

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.end = time.perf_counter()
            self.cpu_end = time.process_time()
            self.tokens_seen = int(getattr(state, "num_input_tokens_seen", 0) or 0)
            self.steps = state.global_step

        @property
        def cpu_seconds(self) -> float:
            return self.cpu_end - self.cpu_begin

        @property
        def seconds(self) -> float:
            if self.begin is None or self.end is None:
                raise RuntimeError("the training loop did not run (no on_train_begin/on_train_end)")
            return self.end - self.begin

    return LoopTimer()


@contextlib.contextmanager
def quiet() -> Any:
    """Swallow what the Trainer prints (its PrinterCallback prints every log when tqdm is off) in both sides."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def quiet_fd() -> Any:
    """Send file descriptor 1 to /dev/null for a while (for output written below Python)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


class Timed:
    """A reporter wrapper that adds the loop timer to the wrapped reporter's callbacks."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.timer = loop_timer()
        self.callbacks = list(inner.callbacks) + [self.timer]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


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

    def config(self, steps: int, logging_steps: int = 1) -> dict[str, Any]:
        """The engine's run config: no validation, no checkpoint or eval inside `steps`."""
        return {
            "name": "bench", "task": "causal-lm", "model": self.folder,
            "data": {"train": str(self.train_file), "format": "text", "max_length": self.args.seq},
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
    def engine(self, section: str, variant: str, repeat: int, steps: int, recorder: bool = False) -> Result:
        from studio.config import RunConfig
        from studio.core.train import NullReporter, run_training

        cfg_dict = self.config(steps)
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
        try:
            with quiet():
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
        expected = self.expected_tokens(steps)
        if timer.tokens_seen != expected:
            print(f"warning: the engine counted {timer.tokens_seen} tokens, expected {expected}", file=sys.stderr)
        return Result(section, variant, repeat, timer.seconds, timer.tokens_seen or expected, timer.steps, total,
                      timer.cpu_seconds, extra)

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


def median_ratio(pairs: list[tuple[Result, Result]], metric: str) -> float:
    return statistics.median(getattr(a, metric) / getattr(b, metric) for a, b in pairs)


def alternate(repeats: int, a: Any, b: Any) -> list[tuple[Result, Result]]:
    """Run a and b `repeats` times in the order A,B / B,A / A,B ...; returns (a, b) pairs."""
    pairs = []
    for i in range(repeats):
        if i % 2 == 0:
            ra = a(i)
            rb = b(i)
        else:
            rb = b(i)
            ra = a(i)
        pairs.append((ra, rb))
    return pairs


def print_table(results: list[Result]) -> None:
    head = f"{'section':<8} {'variant':<14} {'rep':>3} {'steps':>5} {'tokens':>7} {'loop s':>7} " \
           f"{'tokens/s':>9} {'step ms':>8} {'cpu s':>7} {'total s':>7}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        notes = " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.extra.items())
        print(f"{r.section:<8} {r.variant:<14} {r.repeat:>3} {r.steps:>5} {r.tokens:>7} {r.loop_s:>7.2f} "
              f"{r.tokens_per_s:>9.0f} {r.step_ms:>8.1f} {r.cpu_s:>7.2f} {r.total_s:>7.2f}  {notes}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None,
                   help="model folder, .gguf file or sample:NAME (e.g. sample:smollm2); default: a random "
                        "Llama (--hidden, --layers) with the tests' tokenizer")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps per timed run")
    p.add_argument("--batch", type=int, default=8, help="examples per step (<= 50)")
    p.add_argument("--seq", type=int, default=128, help="tokens per example (every example has exactly this many)")
    p.add_argument("--repeats", type=int, default=3, help="pairs of runs per comparison; the median ratio is reported")
    p.add_argument("--hidden", type=int, default=256, help="hidden size of the default model")
    p.add_argument("--layers", type=int, default=4, help="layers of the default model")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (0: torch's default, one per core); 1 keeps busy machines from "
                        "stalling on thread contention")
    p.add_argument("--warmup-steps", type=int, default=3, help="steps of the untimed warm-up runs (0: none)")
    p.add_argument("--only", choices=("plain", "sqlite"), help="run one comparison only")
    p.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its goal")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = p.parse_args(argv)
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
        if args.warmup_steps:
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
