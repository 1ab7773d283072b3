"""Padding-free packing: each micro-batch's examples flattened into one row (transformers'
DataCollatorWithFlattening: position_ids restart per example, no attention_mask), used only where a
runtime check shows the model (with its method applied) keeps packed examples apart.

Two traps (transformers 5.23): packed attention silently spans examples when *any* attention_mask
is passed (even all ones), or when a cache object exists (use_cache on, prefix tuning's
past_key_values) — both switch off transformers' packed-sequence detection. The collator sends no
attention_mask and use_cache=False with every batch; the check catches the rest (prefix and prompt
tuning: PEFT drops position_ids or passes a cache).

Why one row per micro-batch, drawn at random: the Trainer's batches stay the plain script's (same
examples, same order, same token-mean loss), so packing changes the speed and nothing else. Grouping
lengths would not shorten a packed row, and under sdpa/eager the row's mask is dense, so rows of
long examples together would cost more. That dense mask is also why `auto` packs only where the
estimate in packing_cost.py says it pays; `on` packs wherever the model honours it.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studio.core.packing_cost import VARLEN_ATTENTION, attention_kind, attention_share, packed_cost_ratio

# How far the second example's packed logits may stray from its own run, as a share of how far they
# stray when the examples attend to each other (a leak gives exactly 1: the same computation). fp32
# round-off is ~1e-6 of it; bf16/fp16 round-off on a GPU can be a few percent, so half precision is
# allowed more.
_LEAK_SHARE = {"fp32": 1e-2, "half": 0.25}
_PROBE_LENGTHS = (7, 5)
# auto packs when the estimate (packing_cost.py) saves at least 10 %: below that, the padded path's
# better-tuned kernels (causal sdpa without a mask) can win the difference back.
_PAYS = 0.9


@dataclass
class BatchPlan:
    """How the run forms its batches, and the one log line saying why."""

    packed: bool
    sampling: str  # TrainingArguments.train_sampling_strategy: "random" | "group_by_length"
    line: str
    warning: str | None = None  # for the run's warnings: packing "on" that could not be honoured


def packing_check(model: Any) -> tuple[bool, str]:
    """Whether `model` keeps packed examples apart: packed logits equal the examples run one by one.

    Two short random sequences, three forwards without grad; returns (ok, why) for the log line."""
    import torch

    a_len, b_len = _PROBE_LENGTHS
    emb = model.get_input_embeddings()
    param = next(model.parameters())
    device = emb.weight.device if hasattr(emb, "weight") else param.device
    # A private generator: the run's seeded RNG stream (dropout, data order) must not move.
    gen = torch.Generator().manual_seed(1234)
    vocab = int(getattr(emb, "num_embeddings", 0) or model.config.vocab_size)
    a = torch.randint(0, vocab, (1, a_len), generator=gen).to(device)
    b = torch.randint(0, vocab, (1, b_len), generator=gen).to(device)
    ids = torch.cat([a, b], dim=1)
    positions = torch.cat([torch.arange(a_len), torch.arange(b_len)]).unsqueeze(0).to(device)
    modes = {m: m.training for m in model.modules()}
    # bitsandbytes repacks 4-bit CPU weights on an eval, no-grad forward where AVX512-BF16 exists,
    # which breaks training afterwards: the probe must not trigger it.
    avx = {m: m.support_avx512bf16_for_cpu for m in model.modules() if hasattr(m, "support_avx512bf16_for_cpu")}
    try:
        model.eval()
        for m in avx:
            m.support_avx512bf16_for_cpu = False
        with torch.no_grad():
            separate = _logits(model, input_ids=b)
            packed = _logits(model, input_ids=ids, position_ids=positions)
            # What leaking looks like for this model: the same concat, attending across the seam.
            leaking = _logits(model, input_ids=ids, position_ids=positions, attention_mask=torch.ones_like(ids))
    except Exception as e:  # a forward that refuses position_ids or use_cache cannot be fed packed rows
        return False, f"its forward refuses packed inputs ({type(e).__name__}: {e})"
    finally:
        for m, training in modes.items():
            m.training = training
        for m, flag in avx.items():
            m.support_avx512bf16_for_cpu = flag
    if packed.shape[1] != a_len + b_len or separate.shape[1] != b_len:
        return False, "it adds positions of its own (prompt tokens), so packed rows cannot line up"
    limit = _LEAK_SHARE["fp32" if packed.dtype == torch.float32 else "half"]
    second = packed[:, a_len:].float()
    err = (second - separate.float()).abs().mean().item()
    leak = (leaking[:, a_len:].float() - separate.float()).abs().mean().item()
    if err <= limit * leak:
        return True, f"packed logits equal separate ones (mean diff {err:.1e}; attending across: {leak:.1e})"
    return False, (f"packed examples see each other (mean logit diff {err:.1e} vs separate runs; "
                   f"attending across: {leak:.1e})")


def _logits(model: Any, **inputs: Any) -> Any:
    return model(**inputs, use_cache=False).logits


def plan_batches(packing: str, task: str, model: Any, lengths: Sequence[int] = (),
                 batch_size: int = 1) -> BatchPlan:
    """Packed rows where training.packing allows, the model honours them and (for auto) they cost
    less than padded batches of these example `lengths`; else length-grouped batches.

    Without packing, examples of similar length share a batch (transformers' LengthGroupedSampler,
    drawn at random in mega-batches) so little is padded; classification always does this."""
    field = "training.packing"
    if task != "causal-lm":
        warning = (f"{field} is 'on', but packing is for causal-LM runs; this {task} run uses "
                   f"length-grouped batches") if packing == "on" else None
        return BatchPlan(False, "group_by_length", f"packing: off ({task} run): length-grouped batches",
                         warning)
    if packing == "off":
        # What the user asked for: random padded batches, as a plain Trainer would make them.
        return BatchPlan(False, "random", f"packing: off ({field} is 'off'): random padded batches")
    cost = ""
    if lengths:
        kind = attention_kind(model)
        ratio = packed_cost_ratio(lengths, batch_size, attention_share(model), kind in VARLEN_ATTENTION)
        cost = f"est. {ratio:.2f}x the compute of random padded batches with {kind} attention"
        if packing == "auto" and ratio > _PAYS:
            return BatchPlan(False, "group_by_length", f"packing: off — it would not pay here ({cost}); "
                             f"length-grouped batches")
    ok, why = packing_check(model)
    if ok:
        return BatchPlan(True, "random", f"packing: on ({field} is '{packing}'; {cost + '; ' if cost else ''}{why})")
    line = f"packing: off — the model cannot pack: {why}; length-grouped batches instead"
    warning = f"{field} is 'on', but {line.split(' — ', 1)[1]}" if packing == "on" else None
    return BatchPlan(False, "group_by_length", line, warning)


def example_lengths(dataset: Any) -> list[int]:
    """Token count of every example of a tokenized datasets.Dataset, read from its Arrow column."""
    import pyarrow.compute as pc

    return pc.list_value_length(dataset.data.column("input_ids")).to_pylist()


def log_line(text: str) -> None:
    """One line for the worker log (the worker's stdout and stderr go to runs/<id>/worker.log)."""
    print(text, file=sys.stderr, flush=True)


class PackedCollator:
    """DataCollatorWithFlattening plus the trap guards: no attention_mask, use_cache=False.

    The micro-batch's examples become one row (no pad token anywhere); each example's first label
    is -100, so no token learns to predict the next example, and answer-only labels (-100 on the
    prompt) pass through unchanged."""

    def __init__(self) -> None:
        from transformers import DataCollatorWithFlattening

        self.flatten = DataCollatorWithFlattening(return_tensors="pt")

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        keep = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in features]
        batch = dict(self.flatten(keep))
        batch.pop("attention_mask", None)
        batch["use_cache"] = False  # a cache object disables packed-sequence detection
        return batch


def batch_collator(plan: BatchPlan, tokenizer: Any, task: str) -> Any:
    """The collator for `plan`: PackedCollator when packed, else the padding one for `task`."""
    if plan.packed:
        return PackedCollator()
    from studio.core.tokenize import make_collator

    return make_collator(tokenizer, task)


def apply_plan(plan: BatchPlan, args: Any) -> Any:
    """Set the sampler and the token count that suit `plan` on TrainingArguments `args`."""
    args.train_sampling_strategy = plan.sampling
    # Real tokens only: padded batches carry an attention_mask, which "non_padding" sums; a packed
    # row has no pad token at all, so every token is real ("non_padding" would fall back to
    # comparing with the pad id, which miscounts when pad == eos and the eos ends every example).
    args.include_num_input_tokens_seen = "all" if plan.packed else "non_padding"
    return args
