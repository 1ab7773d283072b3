"""`studio inspect-data` for preference data: each example's prompt with its chosen and rejected answers (KTO:
its one answer and label), the trained characters of each, and token lengths of prompt + longer answer.

Renders through core/preference_data.py, the trainer's own path, so the preview shows what TRL is given.
"""
from __future__ import annotations

from typing import Any

from studio.core.preference_data import render_preference
from studio.core.preference_rows import KTO


def preference_preview(data: Any, tokenizer: Any, max_length: int, n: int) -> tuple[list[dict], list[int], list[str]]:
    """(examples, token length per row, warnings) of checked preference data for the wizard's Data step."""
    rows = data.train + (data.validation or [])
    rendered = [render_preference(r, data.format, tokenizer) for r in rows]
    lengths = []
    for item in rendered:  # a row's length is its prompt with the longer of its answers, as trained
        texts = [item.prompt + a for a in item.answers.values()]
        lengths.append(max(len(ids) for ids in tokenizer(texts)["input_ids"]))
    examples = [_example(item, where, tokenizer, max_length)
                for item, where in list(zip(rendered, data.source_lines["train"]))[:n]]
    warnings = []
    over = [i for i, k in enumerate(lengths) if k > max_length]
    if over:
        unit = "rows" if data.format == KTO else "pairs"
        warnings.append(f"{len(over)} of {len(rows)} {unit} are longer than max_length={max_length} tokens "
                        f"(prompt + longer answer; longest {max(lengths)}) and get truncated")
    return examples, lengths, warnings


def _example(item: Any, where: str, tokenizer: Any, max_length: int) -> dict[str, Any]:
    """One example: {kind, where, tokens, prompt, chosen, rejected | completion, label, trained}."""
    out: dict[str, Any] = {"kind": "preference", "where": where, "prompt": item.prompt, "label": item.label,
                           "trained": {}, "tokens": 0}
    for side, answer in item.answers.items():
        text = item.prompt + answer
        spans, tokens = _answer_spans(text, len(item.prompt), tokenizer, max_length)
        out[side], out["trained"][side] = text, spans
        out["tokens"] = max(out["tokens"], tokens)
    return out


def _answer_spans(text: str, answer_start: int, tokenizer: Any, max_length: int) -> tuple[list[list[int]], int]:
    """[start, end] character spans of the answer tokens within max_length, and the text's token count."""
    if not getattr(tokenizer, "is_fast", False):  # no offsets: the whole answer
        n = len(tokenizer(text)["input_ids"])
        return [[answer_start, len(text)]], n
    enc = tokenizer(text, return_offsets_mapping=True)
    start = end = None
    for i, (a, b) in enumerate(enc["offset_mapping"]):
        if b <= a or b <= answer_start or i >= max_length:
            continue
        start = a if start is None else start
        end = b
    spans = [[max(start, answer_start), end]] if start is not None else []
    return spans, len(enc["input_ids"])


def inspect_preference(out: dict[str, Any], cfg: Any, tokenizer: Any, n: int) -> dict[str, Any]:
    """Fill inspect_data's result for task preference (the data checked against the loss, as training does)."""
    from studio.core.formats import DataError
    from studio.core.inspect_data import histogram
    from studio.core.preference_rows import prepare_preference

    try:
        data = prepare_preference(cfg.data, cfg.training.seed, cfg.preference.loss)
        examples, lengths, warnings = preference_preview(data, tokenizer, cfg.data.max_length, n)
    except (DataError, ValueError) as e:  # a KTO file for dpo; a chat template rejecting a row
        out["error"] = str(e)
        return out
    out.update(format=data.format, warnings=list(data.warnings) + warnings, examples=examples,
               counts={"train": len(data.train), "validation": len(data.validation or [])},
               lengths=histogram(lengths, cfg.data.max_length), ok=True)
    return out
