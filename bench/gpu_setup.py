"""bench/gpu.sh's inputs: the sizes of a run (GPU or dry run), the random Llama built from a config and
the ragged instruction data with lognormal lengths. No hub, no network: the tokenizer is the tests'
byte-level BPE (a few hundred tokens); the model's vocabulary is larger, which only costs what the
logits of that vocabulary cost, as with a real tokenizer."""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SEED = 0
# Words of the tests' tokenizer corpus: each is one or two tokens, so lengths can be set in tokens.
WORDS = ("the quick brown fox jumps over lazy dog question what is capital of france answer paris "
         "positive negative neutral sports tech food weather label text user assistant system "
         "instruction input output prompt completion").split()


@dataclass
class Profile:
    """Everything that differs between the GPU run and the CPU dry run."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int | None          # None: the tokenizer's own size
    tied: bool
    max_length: int            # data.max_length; no example is longer
    median_tokens: int         # lognormal lengths: median and sigma of log(length)
    sigma: float
    batch: int                 # micro-batch of both sides in section 1
    steps: int                 # optimizer steps of each timed run (one epoch: batch × steps examples)
    warmup: int                # steps left out of the tokens/s window (allocator growth, kernel compilation)
    oom_batch: int             # section 4's deliberately oversized micro-batch
    oom_inject: bool           # no GPU to run out of: inject torch.OutOfMemoryError (studio/core/faults.py)
    timeout_s: int             # per child process (GPU) – every phase is bounded

    def describe(self) -> str:
        """One line: the model's shape and the data."""
        params = self.params()
        vocab = self.vocab or "tokenizer's"
        return (f"{self.name}: Llama hidden {self.hidden}, {self.layers} layers, {self.heads} heads / "
                f"{self.kv_heads} kv heads, intermediate {self.intermediate}, vocab {vocab}"
                f"{', tied embeddings' if self.tied else ''} (~{params / 1e9:.2f}B parameters); data: "
                f"lognormal lengths, median {self.median_tokens}, sigma {self.sigma}, up to {self.max_length} "
                f"tokens; micro-batch {self.batch}, {self.steps} steps ({self.warmup} untimed)")

    def params(self, vocab: int = 400) -> int:
        """Parameter count of the model (vocab: the tokenizer's size when the profile has none)."""
        v, d, kv = self.vocab or vocab, self.hidden, self.hidden // self.heads * self.kv_heads
        block = d * d * 2 + d * kv * 2 + 3 * d * self.intermediate + 2 * d
        return self.layers * block + v * d * (1 if self.tied else 2) + d


# The shape of Llama-3.2-1B (1.24B parameters with its 128,256-token vocabulary and tied embeddings).
GPU = Profile("gpu", hidden=2048, layers=16, heads=32, kv_heads=8, intermediate=8192, vocab=128256, tied=True,
              max_length=2048, median_tokens=450, sigma=0.8, batch=8, steps=40, warmup=5, oom_batch=64,
              oom_inject=False, timeout_s=300)
# The tests' tiny Llama (tests/tiny.py) and a few steps: the same code, in seconds, on a CPU.
DRY = Profile("dry-run", hidden=32, layers=2, heads=4, kv_heads=2, intermediate=64, vocab=None, tied=False,
              max_length=128, median_tokens=40, sigma=0.8, batch=4, steps=6, warmup=2, oom_batch=4,
              oom_inject=True, timeout_s=120)


def build_model(folder: Path, p: Profile, device: str) -> Path:
    """A random Llama of the profile's shape (bf16 on CUDA) with the tests' tokenizer, saved to `folder`."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from tests.tiny import tiny_tokenizer

    with quiet_fd():  # the tokenizers trainer writes its progress straight to file descriptor 1
        tok = tiny_tokenizer()
    cfg = LlamaConfig(vocab_size=p.vocab or len(tok), hidden_size=p.hidden, intermediate_size=p.intermediate,
                      num_hidden_layers=p.layers, num_attention_heads=p.heads, num_key_value_heads=p.kv_heads,
                      max_position_embeddings=max(4096, p.max_length),
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=p.tied)
    torch.manual_seed(SEED)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):  # initialising 1.2B parameters on a GPU takes a moment, on a CPU a minute
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    with quiet_fd():  # a progress bar per shard
        model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@contextlib.contextmanager
def quiet_fd() -> Any:
    """File descriptors 1 and 2 to /dev/null for a while (for output written below Python)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def token_lengths(p: Profile, n: int, rng: random.Random) -> list[int]:
    """n lognormal example lengths in tokens, clipped to [16, max_length - 8] (nothing is truncated)."""
    mu = math.log(p.median_tokens)
    return [int(min(p.max_length - 8, max(16, rng.lognormvariate(mu, p.sigma)))) for _ in range(n)]


def make_rows(tokenizer: Any, lengths: list[int], rng: random.Random) -> list[dict[str, str]]:
    """Instruction rows whose prompt + answer come to about the given numbers of tokens."""
    from studio.core.formats import ALPACA_PROMPT

    cost = {w: len(tokenizer(" " + w, add_special_tokens=False)["input_ids"]) for w in WORDS}
    rows = []
    for total in lengths:
        instruction = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16)))
        left = total - len(tokenizer(ALPACA_PROMPT.format(instruction=instruction), add_special_tokens=False)
                           ["input_ids"]) - 2  # the answer's end-of-sequence token, a margin of one
        words: list[str] = []
        while left > 0:
            w = rng.choice(WORDS)
            words.append(w)
            left -= cost[w]
        rows.append({"instruction": instruction, "input": "", "output": " ".join(words) or "yes"})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Rows as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_data(work: Path, folder: Path, p: Profile) -> tuple[dict[str, str], dict[str, Any]]:
    """train.jsonl (batch × steps ragged rows: one epoch), val.jsonl (2 short rows, so the engine holds
    nothing out of train), longest.jsonl (max-length rows for section 4); and the lengths' figures."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    rng = random.Random(SEED)
    lengths = token_lengths(p, p.batch * p.steps, rng)
    train = make_rows(tok, lengths, rng)
    val = make_rows(tok, [24, 32], rng)
    longest = make_rows(tok, [p.max_length - 8] * p.oom_batch, rng)
    paths = {"train": str(write_jsonl(work / "train.jsonl", train)), "val": str(write_jsonl(work / "val.jsonl", val)),
             "longest": str(write_jsonl(work / "longest.jsonl", longest))}
    return paths, length_figures(lengths, p.batch, rng)


def length_figures(lengths: list[int], batch: int, rng: random.Random) -> dict[str, Any]:
    """Mean, median, max and the share of pad tokens in random batches padded to their longest row."""
    order = lengths[:]
    rng.shuffle(order)
    padded = sum(max(order[i:i + batch]) * len(order[i:i + batch]) for i in range(0, len(order), batch))
    ranked = sorted(lengths)
    return {"rows": len(lengths), "tokens": sum(lengths), "mean": sum(lengths) / len(lengths),
            "median": ranked[len(ranked) // 2], "max": ranked[-1], "pad_share_random_batches": 1 - sum(lengths) / padded}


def save_setup(work: Path, p: Profile, folder: Path, data: dict[str, str], device: str) -> dict[str, Any]:
    """setup.json: what every phase (in this process or a child) reads."""
    setup = {"profile": asdict(p), "model": str(folder), "data": data, "device": device, "work": str(work)}
    (work / "setup.json").write_text(json.dumps(setup, indent=2))
    return setup
