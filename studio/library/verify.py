"""Verified exports: what was written is loaded back with its consumer's loader and run on the same
prompts as the in-memory base+adapter, teacher-forced on the reference's greedy continuation, so one
early difference cannot cascade. Token agreement (or label agreement for classifiers) and the largest
logit difference are judged against the format's tolerance; outside it the export is *unverified*.
torch is imported inside the functions (this runs in `studio export`, never in the GUI)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.library.inspect import AdapterInfo

VERIFICATION = "verification.json"
FIXED_PROMPTS = ("Write one sentence about the sea.", "What is 2 + 3?", "Name three colours.")
# format -> (least token agreement, largest logit difference relative to the largest reference logit).
# 32-bit is exact up to summation order; 16-bit rounds each weight (bf16 keeps 8 bits of mantissa, f16
# 11); block quantisation moves weights by up to half a step of 2^8 (q8_0), 2^5 (q5) or 2^4 (q4) levels.
TOLERANCES: dict[str, tuple[float, float]] = {
    "adapter-only": (1.0, 1e-4), "f32": (1.0, 1e-3), "fp32": (1.0, 1e-3),
    "f16": (0.95, 0.02), "fp16": (0.95, 0.02), "bf16": (0.9, 0.06),
    "q8_0": (0.9, 0.1), "q5_0": (0.75, 0.25), "q5_1": (0.75, 0.25), "q4_0": (0.6, 0.4), "q4_1": (0.6, 0.4),
}
LABEL_TOLERANCE = {"adapter-only": 1.0, "fp32": 1.0, "f32": 1.0}  # classifiers: least label agreement


@dataclass
class Reference:
    """The in-memory model's greedy continuations: per prompt the ids and the logits at each new token."""

    prompts: list[str]
    sequences: list[Any]     # 1-D LongTensor: prompt + greedy continuation
    prompt_lengths: list[int]
    logits: list[Any]        # [new tokens, vocab] float32: what predicted each continuation token
    labels: list[int] | None = None  # classifiers: predicted label per prompt


def sample_prompts(info: AdapterInfo, tokenizer: Any, n: int = 3) -> list[str]:
    """The adapter's recorded sample prompts (studio.json `sample_prompts`, up to 10), else n from its
    training data, else fixed ones — rendered with the chat template where the model has one."""
    meta = info.studio_meta or {}
    recorded = [str(p) for p in meta.get("sample_prompts") or []][:10]
    texts = recorded or _from_training_data(meta, info.task or "causal-lm", n) or list(FIXED_PROMPTS[:n])
    if info.task == "classification":
        return texts
    return [t["prompt"] if isinstance(t, dict) and "prompt" in t else _render(tokenizer, t) for t in texts]


def _from_training_data(meta: dict[str, Any], task: str, n: int) -> list[Any]:
    from studio.core.data import read_records

    data = ((meta.get("training") or {}).get("data") or {})
    for key in ("validation", "train"):
        path = data.get(key)
        if not path:
            continue
        try:
            rows = [r for _, r in read_records(str(path), task).rows]
        except Exception:  # the data may be gone or moved: fall back to the fixed prompts
            continue
        found = [p for p in (_prompt_of(r, task) for r in rows) if p]
        if found:
            return found[:n]
    return []


def _prompt_of(row: dict[str, Any], task: str) -> Any:
    """The question part of a training row (the answer is what the model should produce)."""
    if task == "classification":
        return row.get("text")
    if isinstance(row.get("messages"), list):
        turns = [m for m in row["messages"] if isinstance(m, dict)]
        while turns and turns[-1].get("role") == "assistant":
            turns.pop()
        return {"messages": turns} if turns else None
    if row.get("instruction"):
        return "\n\n".join(str(row[k]) for k in ("instruction", "input") if row.get(k))
    if row.get("prompt"):
        return {"prompt": str(row["prompt"])}
    text = str(row.get("text") or "")
    return " ".join(text.split()[: max(3, len(text.split()) // 2)]) or None


def _render(tokenizer: Any, text: Any) -> str:
    messages = text["messages"] if isinstance(text, dict) else [{"role": "user", "content": text}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n".join(m.get("content", "") for m in messages) + "\n"


def reference_run(model: Any, tokenizer: Any, prompts: list[str], task: str,
                  max_new_tokens: int = 16) -> Reference:
    """Greedy continuations (or predicted labels) of the in-memory model on the prompts."""
    import torch

    ref = Reference(prompts, [], [], [])
    with torch.no_grad():
        if task == "classification":
            ref.labels = [int(model(**tokenizer(p, return_tensors="pt", truncation=True)).logits.argmax(-1))
                          for p in prompts]
            return ref
        for p in prompts:
            ids = tokenizer(p, return_tensors="pt", add_special_tokens=False)["input_ids"][:, -256:]
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id)
            ref.sequences.append(out[0])
            ref.prompt_lengths.append(ids.shape[1])
            ref.logits.append(_continuation_logits(model, out[0], ids.shape[1]))
    return ref


def _continuation_logits(model: Any, seq: Any, prompt_len: int) -> Any:
    # prompt tuning prepends virtual tokens to the logits: the sequence's own are the last len(seq)
    logits = model(input_ids=seq[None], attention_mask=seq.new_ones(1, len(seq))).logits[0][-len(seq):]
    return logits[prompt_len - 1: len(seq) - 1].float()


def compare(model: Any, tokenizer: Any, ref: Reference) -> dict[str, Any]:
    """Agreement and logit differences of `model` (the reloaded export) with the reference."""
    import torch

    with torch.no_grad():
        if ref.labels is not None:
            got = [int(model(**tokenizer(p, return_tensors="pt", truncation=True)).logits.argmax(-1))
                   for p in ref.prompts]
            same = sum(a == b for a, b in zip(got, ref.labels))
            return {"agreement": same / max(1, len(got)), "labels": got, "reference_labels": ref.labels,
                    "max_logit_diff": None, "relative_logit_diff": None, "tokens": len(got), "prompts": ref.prompts}
        agree = total = 0
        diff = scale = 0.0
        for seq, n, want in zip(ref.sequences, ref.prompt_lengths, ref.logits):
            got = _continuation_logits(model, seq, n)
            agree += int((got.argmax(-1) == seq[n:]).sum())
            total += len(seq) - n
            diff = max(diff, float((got - want).abs().max()) if len(want) else 0.0)
            scale = max(scale, float(want.abs().max()) if len(want) else 0.0)
    return {"agreement": agree / max(1, total), "max_logit_diff": diff,
            "relative_logit_diff": diff / scale if scale else diff, "tokens": total, "prompts": ref.prompts}


def judge(fmt: str, measured: dict[str, Any], problems: list[str] | None = None) -> dict[str, Any]:
    """The verification record: measured figures, the tolerance, verified or the reason it is not."""
    problems = list(problems or [])
    classifier = measured.get("relative_logit_diff") is None and "labels" in measured
    if classifier:
        least = LABEL_TOLERANCE.get(fmt, 0.9)
        tolerance = {"min_label_agreement": least}
        if measured["agreement"] < least:
            problems.append(f"label agreement {measured['agreement']:.3f} < {least}")
    else:
        least, rel = TOLERANCES.get(fmt, TOLERANCES["q4_0"])
        tolerance = {"min_token_agreement": least, "max_relative_logit_diff": rel}
        if measured.get("tokens") == 0:
            problems.append("no tokens were compared")
        if measured.get("agreement", 0) < least:
            problems.append(f"token agreement {measured.get('agreement', 0):.3f} < {least}")
        if (measured.get("relative_logit_diff") or 0) > rel:
            problems.append(f"logit difference {measured['relative_logit_diff']:.4f} of the largest logit > {rel}")
    return {"format": fmt, "verified": not problems, "reason": "; ".join(problems) or None,
            "tolerance": tolerance, **measured}


def failed(fmt: str, reason: str) -> dict[str, Any]:
    """The record of an export that could not be checked at all (reload failed, base missing ...)."""
    least, rel = TOLERANCES.get(fmt, TOLERANCES["q4_0"])
    return {"format": fmt, "verified": False, "reason": reason, "agreement": None, "max_logit_diff": None,
            "tolerance": {"min_token_agreement": least, "max_relative_logit_diff": rel}}


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    """verification.json in an export folder (the manifest then covers it)."""
    path = Path(folder) / VERIFICATION
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def read_record(path: Path) -> dict[str, Any] | None:
    """The verification record of an export folder or GGUF file, if it has one."""
    path = Path(path)
    candidates = [path / VERIFICATION] if path.is_dir() else [path.with_suffix(".verification.json")]
    for c in candidates:
        if c.is_file():
            return json.loads(c.read_text(encoding="utf-8"))
    return None
