"""Example formats: the columns each needs, detecting one, checking and normalising rows, label splits.

Pure Python on purpose: the CLI validates data with this before any run is recorded.
"""
from __future__ import annotations

import difflib
import json
import random
from collections.abc import Iterable
from typing import Any

ROLES = ("system", "user", "assistant")
# Columns a format cannot do without; detection tries the task's formats in this order.
REQUIRED: dict[str, tuple[str, ...]] = {
    "chat": ("messages",),
    "instruction": ("instruction", "output"),
    "completion": ("prompt", "completion"),
    "text": ("text",),
    "classification": ("text", "label"),
    # task preference (rows checked in core/preference_rows.py): pairs, or KTO's single labelled answers;
    # pairs without 'prompt' are conversations whose shared first turns are the prompt (TRL's layout).
    "preference": ("chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {"instruction": ("input",), "classification": ("text_pair",),
                                        "preference": ("prompt",)}
# The plain instruction template for tokenizers without a chat template (Alpaca style).
ALPACA_PROMPT = "### Instruction:\n{instruction}\n\n### Response:\n"
ALPACA_PROMPT_INPUT = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
TASK_FORMATS: dict[str, tuple[str, ...]] = {
    "causal-lm": ("chat", "instruction", "completion", "text"),
    "classification": ("classification",),
    "preference": ("preference", "kto"),
}


class DataError(ValueError):
    """A data file cannot be used; names the file, the line (or row) and what is wrong."""

    def __init__(self, file: str, line: int | None, message: str, unit: str = "line"):
        # All four in args so the error survives pickling between worker processes.
        super().__init__(str(file), line, message, unit)
        self.file, self.line, self.message, self.unit = str(file), line, message, unit

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        if self.unit == "row":
            return f"{self.file}: row {self.line}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class RowError(ValueError):
    """A problem with one row; the caller adds file and line."""


def location(file: str, n: int, unit: str = "line") -> str:
    """'file:12' for text files, 'file row 12' for parquet and hub datasets."""
    return f"{file} row {n}" if unit == "row" else f"{file}:{n}"


def kind(value: Any) -> str:
    """A value's JSON kind in words, for messages: 'a number (42)'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"true/false ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a text ({value[:40]!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names) or "none"


def missing_columns_error(file: str, columns: list[str], formats: tuple[str, ...]) -> DataError:
    """Name what is missing for the closest-fitting format, with did-you-mean hints from difflib."""
    best: tuple[float, list[str], dict[str, str]] | None = None
    for fmt in formats:
        need = REQUIRED[fmt]
        missing = [c for c in need if c not in columns]
        hints = {c: m[0] for c in missing if (m := difflib.get_close_matches(c, columns, n=1, cutoff=0.6))}
        covered = (len(need) - len(missing) + len(hints)) / len(need)
        if best is None or covered > best[0]:
            best = (covered, missing, hints)
    assert best is not None
    covered, missing, hints = best
    found = _quoted(columns)
    if covered == 0 and len(formats) > 1:
        expected = "; ".join(f"{f} ({' + '.join(REQUIRED[f])})" for f in formats)
        return DataError(file, None, f"cannot tell the example format from the columns {found}; "
                                     f"expected one of: {expected} — rename columns with data.columns")
    word = "column" if len(missing) == 1 else "columns"
    msg = f"no {word} {' and '.join(repr(c) for c in missing)}; found {found}"
    if hints:
        mapping = ", ".join(f"{k}: {v}" for k, v in hints.items())
        msg += f" — did you mean {_quoted(hints.values())}? map it with data.columns: {{{mapping}}}"
    return DataError(file, None, msg)


def detect_format(columns: list[str], task: str, file: str) -> str:
    """The first of the task's formats whose required columns are all present."""
    for fmt in TASK_FORMATS[task]:
        if all(c in columns for c in REQUIRED[fmt]):
            return fmt
    raise missing_columns_error(file, columns, TASK_FORMATS[task])


def check_format(fmt: str, task: str, columns: list[str], file: str) -> None:
    """An explicitly chosen format must suit the task and find its columns."""
    allowed = TASK_FORMATS[task]
    if fmt not in allowed:
        raise DataError(file, None, f"data.format {fmt!r} does not fit task {task}; "
                                    f"it accepts: {', '.join(allowed)}")
    if any(c not in columns for c in REQUIRED[fmt]):
        raise missing_columns_error(file, columns, (fmt,))


def _text(row: dict, key: str, empty_ok: bool = False) -> str:
    value = row[key]
    if not isinstance(value, str):
        raise RowError(f"'{key}' must be a text, got {kind(value)}")
    if not empty_ok and not value.strip():
        raise RowError(f"'{key}' is empty")
    return value


def _messages(value: Any) -> list[dict[str, str]]:
    if isinstance(value, str) and value.lstrip().startswith("["):
        # CSV cells can only hold the conversation as JSON text.
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if not isinstance(value, list) or not value:
        raise RowError(f"'messages' must be a non-empty list of {{role, content}} objects, got {kind(value)}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise RowError(f"messages[{i}] must be an object with 'role' and 'content', got {kind(m)}")
        if m["role"] not in ROLES:
            raise RowError(f"messages[{i}] has role {m['role']!r}; a role must be one of {', '.join(ROLES)}")
        if not isinstance(m["content"], str):
            raise RowError(f"messages[{i}] content must be a text, got {kind(m['content'])}")
        out.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "assistant" for m in out):
        raise RowError("no assistant turn: a chat row needs at least one message with role 'assistant' "
                       "(the assistant's turns are what is trained)")
    return out


def _label(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RowError(f"'label' must be a whole number or a text, got {kind(value)}")
    if isinstance(value, str) and not value.strip():
        raise RowError("'label' is empty")
    return value


def normalise_row(row: dict, fmt: str, needed: tuple[str, ...]) -> dict[str, Any]:
    """Check one row's values for `fmt` and return it with the studio's keys only."""
    for col in needed:
        if col not in row:
            raise RowError(f"no {col!r} here, but other rows have it (this row has: {_quoted(row)})")
    if fmt == "text":
        return {"text": _text(row, "text")}
    if fmt == "classification":
        out: dict[str, Any] = {"text": _text(row, "text"), "label": _label(row["label"])}
        if "text_pair" in needed:
            out["text_pair"] = _text(row, "text_pair")
        return out
    if fmt == "instruction":
        has_input = row.get("input") is not None
        return {"instruction": _text(row, "instruction"),
                "input": _text(row, "input", empty_ok=True) if has_input else "",
                "output": _text(row, "output")}
    if fmt == "completion":
        return {"prompt": _text(row, "prompt"), "completion": _text(row, "completion")}
    if fmt == "chat":
        return {"messages": _messages(row["messages"])}
    raise ValueError(f"unknown format {fmt!r}")


def needed_columns(fmt: str, columns: list[str]) -> tuple[str, ...]:
    """Required columns plus optional ones every row must then have (text_pair once any row has it)."""
    extra = tuple(c for c in OPTIONAL.get(fmt, ()) if c in columns and c != "input")
    return REQUIRED[fmt] + extra


def user_content(row: dict[str, Any]) -> str:
    """An instruction row's user turn: the instruction, then the input after a blank line if any."""
    return row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")


def alpaca_prompt(row: dict[str, Any]) -> str:
    """An instruction row's prompt in the plain Alpaca layout, ending where the response starts."""
    template = ALPACA_PROMPT_INPUT if row.get("input") else ALPACA_PROMPT
    return template.format(instruction=row["instruction"], input=row.get("input", ""))


def label_order(labels: Iterable[str]) -> list[str]:
    """Distinct labels, sorted; whole-number labels ("2" < "10") keep numeric order."""
    distinct = set(labels)

    def is_int(s: str) -> bool:
        return s.lstrip("-").isdigit()

    if distinct and all(is_int(s) for s in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def mixed_labels_message(value: Any, first: tuple[int, type], unit: str) -> str:
    """Why a label's type differs from the first label's (ints and texts must not mix)."""
    words = {int: "a whole number", str: "a text"}
    return (f"mixed label types: label {value!r} is {words[type(value)]}, but the label on {unit} {first[0]} "
            f"is {words[first[1]]} — use whole numbers for all labels or texts for all labels")


def check_known_labels(file: str, unit: str, numbers: list[int], rows: list[dict[str, Any]],
                       labels: list[str]) -> None:
    """Every validation label must occur in training, or it could never be predicted."""
    known = set(labels)
    for n, row in zip(numbers, rows):
        if row["label"] not in known:
            raise DataError(file, n, f"label {row['label']!r} does not occur in the training data "
                                     f"(training labels: {', '.join(labels)})", unit)


def split_indices(n: int, fraction: float, seed: int, labels: list[str] | None,
                  warnings: list[str]) -> tuple[list[int], list[int]]:
    """Seeded hold-out of `fraction` of n rows, stratified by label when labels are given."""
    rng = random.Random(seed)
    if labels is None:
        order = list(range(n))
        rng.shuffle(order)
        k = min(n - 1, max(1, round(n * fraction)))
        val = set(order[:k])
    else:
        groups: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(label, []).append(i)
        val = set()
        for label in label_order(groups):
            members = groups[label]
            if len(members) < 2:
                warnings.append(f"label {label!r} has only 1 row; it appears in training only")
                continue
            rng.shuffle(members)
            # At least one of each label on both sides, so evaluation sees every class.
            val.update(members[:min(len(members) - 1, max(1, round(len(members) * fraction)))])
    return [i for i in range(n) if i not in val], sorted(val)
