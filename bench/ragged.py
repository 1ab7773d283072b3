"""The ragged comparison of bench/throughput.py: the engine (training.packing: auto, so padding-free
packed rows on a model that honours them) against the plain Trainer+PEFT script a user would write,
with random padded batches, on instruction data whose lengths spread like real instruction sets
(lognormal, 16 tokens up to --seq). Same model folder, rows, steps, seed, learning rate and LoRA.
Both sides count real (non-pad) tokens with the Trainer's own counter."""
from __future__ import annotations

import json
import math
import random
import statistics
import time
from typing import Any

from bench.timing import Result, alternate, loop_timer, median_ratio, quiet

MIN_TOKENS = 16
GOAL = 1.3
LOSS_TOLERANCE = 0.02  # final losses (mean of the last LAST_STEPS) may differ by 2 % (relative)
LAST_STEPS = 5
WORDS = ("please explain describe list write summarise translate compare why how what when the a of to in "
         "and model data training answer question example short long simple careful first second result "
         "value number text word sentence paragraph code function error reason because therefore").split()


def ragged_rows(folder: str, n: int, max_tokens: int, seed: int) -> list[dict[str, str]]:
    """n instruction rows whose rendered token counts are lognormal (median max/4), clipped to [16, max]."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    rng = random.Random(seed)
    overhead = _rendered_length(tok, {"instruction": "", "input": "", "output": ""})
    rows = []
    for _ in range(n):
        target = int(min(max_tokens, max(MIN_TOKENS, rng.lognormvariate(math.log(max_tokens / 4), 0.8))))
        budget = max(2, target - overhead)
        share = rng.uniform(0.3, 0.6)  # prompt tokens / all tokens, as in typical instruction data
        rows.append({"instruction": _words(tok, rng, max(1, int(budget * share))), "input": "",
                     "output": _words(tok, rng, max(1, budget - int(budget * share)))})
    return rows


def _words(tok: Any, rng: random.Random, tokens: int) -> str:
    words: list[str] = []
    while len(tok(" ".join(words), add_special_tokens=False)["input_ids"]) < tokens:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def _rendered_length(tok: Any, row: dict[str, str]) -> int:
    return len(tok(_chat_text(tok, row), add_special_tokens=False)["input_ids"])


def _chat_text(tok: Any, row: dict[str, str], prompt_only: bool = False) -> str:
    messages = [{"role": "user", "content": row["instruction"]}]
    if prompt_only:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tok.apply_chat_template(messages + [{"role": "assistant", "content": row["output"]}], tokenize=False)


class Ragged:
    """The two sides of the ragged comparison, on a Bench's model folder, device and settings."""

    def __init__(self, bench: Any, lora: dict[str, Any], learning_rate: float, seed: int):
        self.bench, self.lora, self.learning_rate, self.seed = bench, lora, learning_rate, seed
        self.rows = ragged_rows(bench.folder, bench.n_rows, bench.args.seq, seed)
        self.train_file = bench.work / "ragged.jsonl"
        self.train_file.write_text("".join(json.dumps(r) + "\n" for r in self.rows), encoding="utf-8")

    def engine(self, repeat: int, steps: int) -> Result:
        """The studio's engine: format instruction, packing auto."""
        data = {"train": str(self.train_file), "format": "instruction", "max_length": self.bench.args.seq}
        return self.bench.engine("ragged", "engine", repeat, steps, data=data)

    def plain(self, repeat: int, steps: int) -> Result:
        """A hand-written Trainer+PEFT script: chat-template text, prompt masked, random padded batches."""
        import datasets
        import transformers
        from peft import LoraConfig, get_peft_model
        from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer,
                                  TrainingArguments)

        from studio.methods.targets import target_modules

        b = self.bench
        t0 = time.perf_counter()
        transformers.set_seed(self.seed)
        tokenizer = AutoTokenizer.from_pretrained(b.folder)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(b.folder)
        lora = LoraConfig(r=self.lora["r"], lora_alpha=self.lora["alpha"], lora_dropout=self.lora["dropout"],
                          target_modules=target_modules(model.config.model_type, self.lora["targets"]),
                          task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)

        def encode(row: dict[str, str]) -> dict[str, list[int]]:
            ids = tokenizer(_chat_text(tokenizer, row), add_special_tokens=False, truncation=True,
                            max_length=b.args.seq)["input_ids"]
            n_prompt = len(tokenizer(_chat_text(tokenizer, row, prompt_only=True), add_special_tokens=False)["input_ids"])
            return {"input_ids": ids, "attention_mask": [1] * len(ids),
                    "labels": [-100] * n_prompt + ids[n_prompt:]}

        ds = datasets.Dataset.from_list(self.rows).map(encode, remove_columns=["instruction", "input", "output"])
        targs = TrainingArguments(
            output_dir=str(b._run_dir()), max_steps=steps, per_device_train_batch_size=b.args.batch,
            learning_rate=self.learning_rate, logging_steps=1, save_strategy="no", report_to="none",
            seed=self.seed, disable_tqdm=True, use_cpu=b.device == "cpu", bf16=b.precision == "bf16",
            fp16=b.precision == "fp16", include_num_input_tokens_seen="non_padding")
        timer = loop_timer()
        pad = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
        computed = [0]  # tokens the model runs, pads included (for the note only)

        def collate(features: list[dict[str, Any]]) -> Any:
            batch = pad(features)
            computed[0] += batch["input_ids"].numel()
            return batch

        trainer = Trainer(model=model, args=targs, train_dataset=ds, callbacks=[timer], data_collator=collate)
        with quiet():
            trainer.train()
        return Result("ragged", "plain", repeat, timer.seconds, timer.tokens_seen, timer.steps,
                      time.perf_counter() - t0, timer.cpu_seconds, {"computed": computed[0]}, timer.losses)


def final_loss(r: Result) -> float:
    """Mean train loss over the last LAST_STEPS logged steps."""
    return statistics.mean(r.losses[-LAST_STEPS:])


def run_ragged(bench: Any, lora: dict[str, Any], learning_rate: float, seed: int
               ) -> tuple[list[Result], list[str], list[str], bool]:
    """Alternate engine and plain runs; (results, notes, ratio lines, goals met)."""
    ragged = Ragged(bench, lora, learning_rate, seed)
    steps, repeats = bench.args.steps, bench.args.repeats
    if bench.args.warmup_steps:
        ragged.engine(0, bench.args.warmup_steps)
        ragged.plain(0, bench.args.warmup_steps)
    pairs = alternate(repeats, lambda i: ragged.engine(i, steps), lambda i: ragged.plain(i, steps))
    ratio = median_ratio(pairs, "tokens_per_s")
    engine_loss = statistics.median(final_loss(a) for a, _ in pairs)
    plain_loss = statistics.median(final_loss(b) for _, b in pairs)
    diff = abs(engine_loss - plain_loss) / plain_loss
    plain_r = pairs[0][1]
    notes = [f"note: {len(ragged.rows)} rows, {plain_r.tokens / plain_r.steps / bench.args.batch:.0f} real tokens per "
             f"example on average (max {bench.args.seq}); the plain script's padded batches held "
             f"{plain_r.extra['computed'] / max(1, plain_r.tokens):.2f}x as many tokens as real ones",
             f"note: engine batches: packing {pairs[0][0].extra.get('packing') or '?'} (its log line)"]
    lines = [f"final loss (mean of the last {LAST_STEPS} steps): engine {engine_loss:.4f}, plain {plain_loss:.4f} "
             f"(differ by {100 * diff:.2f}%, goal <= {100 * LOSS_TOLERANCE:.0f}%)",
             f"real tokens/s ratio engine (packed)/plain (padded): {ratio:.3f} (goal >= {GOAL})"]
    return [r for pair in pairs for r in pair], notes, lines, ratio >= GOAL and diff <= LOSS_TOLERANCE
