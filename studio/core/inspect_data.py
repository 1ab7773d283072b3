"""What the wizard's Data step shows: the data as training will see it, before any run exists.

Reuses the engine's own pieces (load_and_check's validation, render_example, the tokenizer and
tokenize_rows' warnings), so the preview cannot drift from what the worker trains on. Needs the
tokenizer, so it runs in a child process (`studio inspect-data CONFIG --json`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studio.core.formats import OPTIONAL, REQUIRED
from studio.paths import Home

HISTOGRAM_BINS = 24


def empty_result() -> dict[str, Any]:
    """The result's shape with nothing known yet (what an error returns besides its message)."""
    return {"ok": False, "error": None, "format": None, "columns": [], "column_map": {},
            "counts": {"train": 0, "validation": 0}, "label_names": None, "warnings": [], "examples": [],
            "lengths": None}


def inspect_data(config: str | Path, home: Home, n_examples: int = 5) -> dict[str, Any]:
    """Validate a config's data and preview it: examples with trained spans and a length histogram."""
    from studio.config import ConfigError, load_config
    from studio.core.config_check import SubmitError, load_and_check

    out = empty_result()
    try:
        raw = load_config(config)
    except ConfigError as e:
        out["error"] = str(e)
        return out
    out["columns"] = file_columns(raw.data.train, raw.task, Path(config).resolve().parent)
    try:
        cfg, data = load_and_check(config)
    except SubmitError as e:
        out["error"] = str(e)
        return out
    out.update(format=data.format, label_names=data.label_names, warnings=list(data.warnings),
               counts={"train": len(data.train), "validation": len(data.validation or [])},
               column_map=column_map(data.format, out["columns"], cfg.data.columns))
    try:
        tokenizer = preview_tokenizer(cfg, home)
    except (OSError, ValueError) as e:
        out["error"] = f"{config}: model: cannot load the tokenizer of {cfg.model!r}: {e}"
        return out
    if cfg.task == "preference":  # pairs or KTO rows, rendered the trainer's way
        from studio.core.preference_inspect import inspect_preference

        return inspect_preference(out, cfg, tokenizer, n_examples)
    try:
        out["warnings"] += tokenizer_warnings(cfg, data, tokenizer)
        rows = data.train + (data.validation or [])
        lengths = token_lengths(rows, data.format, tokenizer, cfg.data.train_on_prompt)
        out["examples"] = examples(data, tokenizer, cfg.data.max_length, cfg.data.train_on_prompt, n_examples)
    except ValueError as e:  # a chat template rejecting a row, no answer left after truncation
        out["error"] = str(e)
        return out
    out["lengths"] = histogram(lengths, cfg.data.max_length)
    out["ok"] = True
    return out


def file_columns(train: str, task: str, base_dir: Path) -> list[str]:
    """The columns the training file has (before renaming), or [] when it cannot be read."""
    from studio.core.data import DataError, read_records
    from studio.core.config_check import resolve_path

    try:
        src = read_records(resolve_path(train, base_dir), task)
    except DataError:
        return []
    return list(dict.fromkeys(k for _, r in src.rows for k in r))


def column_map(fmt: str, columns: list[str], renames: dict[str, str]) -> dict[str, str]:
    """studio column -> the file column that feeds it, for every column the format reads."""
    out = {}
    for studio in REQUIRED[fmt] + OPTIONAL.get(fmt, ()):
        theirs = renames.get(studio, studio)
        if theirs in columns:
            out[studio] = theirs
    return out


def preview_tokenizer(cfg: Any, home: Home) -> Any:
    """The run's tokenizer; a GGUF model's is read from the file without converting the weights."""
    from studio.core.models import load_tokenizer, model_folder
    from studio.modelinfo.sources import resolve_model

    src = resolve_model(cfg.model)
    if src.kind != "gguf":
        return load_tokenizer(model_folder(cfg.model, home.models_dir, cfg.trust_remote_code),
                              cfg.trust_remote_code)
    # Converting a GGUF model dequantizes every weight (minutes); the tokenizer alone is quick and
    # is the same one the conversion saves.
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def tokenizer_warnings(cfg: Any, data: Any, tokenizer: Any) -> list[str]:
    """Truncation and dropped-row warnings exactly as the worker will print them."""
    from studio.core.tokenize import tokenize_rows

    label2id = {n: i for i, n in enumerate(data.label_names)} if data.label_names else None
    warnings: list[str] = []
    for split in ("train", "validation"):
        rows = data.train if split == "train" else data.validation
        if rows:
            _, found = tokenize_rows(rows, data.format, tokenizer, max_length=cfg.data.max_length,
                                     train_on_prompt=cfg.data.train_on_prompt, label2id=label2id,
                                     source_lines=data.source_lines[split])
            warnings += [f"{split}: {w}" for w in found]
    return warnings


def _encoded(items: list[Any], tokenizer: Any, train_all: bool) -> list[tuple[list, list]]:
    """(ids, labels) per rendered example, the very way tokenize_rows encodes them."""
    from studio.core.tokenize import _encode_pieces, _encode_with_offsets

    if getattr(tokenizer, "is_fast", False):
        return _encode_with_offsets(items, tokenizer, train_all)
    return [_encode_pieces(item, tokenizer, train_all) for item in items]


def token_lengths(rows: list[dict[str, Any]], fmt: str, tokenizer: Any, train_on_prompt: bool) -> list[int]:
    """Each row's length in tokens before truncation."""
    from studio.core.tokenize import eos_text, render_example

    if not rows:
        return []
    if fmt == "classification":
        texts = [r["text"] for r in rows]
        pairs = [r["text_pair"] for r in rows] if "text_pair" in rows[0] else None
        return [len(ids) for ids in tokenizer(texts, pairs)["input_ids"]]
    eos = eos_text(tokenizer)
    items = [render_example(r, fmt, tokenizer, eos) for r in rows]
    return [len(ids) for ids, _ in _encoded(items, tokenizer, train_on_prompt)]


def examples(data: Any, tokenizer: Any, max_length: int, train_on_prompt: bool, n: int) -> list[dict[str, Any]]:
    """The first n training rows rendered, with the character spans whose tokens carry loss."""
    from studio.core.tokenize import IGNORE_INDEX, render_example

    out = []
    for row, where in list(zip(data.train, data.source_lines["train"]))[:n]:
        if data.format == "classification":
            text = row["text"] + ("\n" + row["text_pair"] if row.get("text_pair") else "")
            out.append({"where": where, "text": text, "trained": [], "label": row["label"],
                        "tokens": len(tokenizer(row["text"], row.get("text_pair"))["input_ids"])})
            continue
        item = render_example(row, data.format, tokenizer)
        ((ids, labels),) = _encoded([item], tokenizer, train_on_prompt)
        trained = [i < max_length and lab != IGNORE_INDEX for i, lab in enumerate(labels)]
        out.append({"where": where, "text": item.text, "label": None, "tokens": len(ids),
                    "trained": trained_spans(item, tokenizer, trained)})
    return out


def trained_spans(item: Any, tokenizer: Any, trained: list[bool]) -> list[list[int]]:
    """Merge the character ranges of consecutive trained tokens into [start, end] spans."""
    if not getattr(tokenizer, "is_fast", False):
        # Slow tokenizers give no offsets; their pieces are cut at the rendered spans anyway.
        return [list(s) for s in item.spans] if any(trained) else []
    enc = tokenizer(item.text, add_special_tokens=item.add_special_tokens, return_offsets_mapping=True)
    spans: list[list[int]] = []
    open_span = False
    for on, (start, end) in zip(trained, enc["offset_mapping"]):
        if end <= start:  # specials added around the text cover no characters
            continue
        if on and open_span:
            spans[-1][1] = end
        elif on:
            spans.append([start, end])
        open_span = on
    return spans


def histogram(lengths: list[int], max_length: int, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Token-length histogram with integer bin edges; `over` counts rows longer than max_length."""
    longest = max(lengths, default=0)
    top = max(longest, max_length, 1)
    width = max(1, math.ceil((top + 1) / bins))
    edges = [i * width for i in range(math.ceil((top + 1) / width) + 1)]
    counts = [0] * (len(edges) - 1)
    for n in lengths:
        counts[min(n // width, len(counts) - 1)] += 1
    return {"bins": edges, "counts": counts, "max_length": max_length, "over": sum(n > max_length for n in lengths),
            "longest": longest, "rows": len(lengths)}
