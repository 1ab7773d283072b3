"""Training data: read a file (or hub dataset), check every row, split off validation.

Stdlib only, so the CLI can validate before recording a run; pyarrow / datasets load lazily (parquet, hub ids).
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.config import TASKS, DataSpec
from studio.core.formats import (OPTIONAL, DataError, RowError, check_format, check_known_labels, detect_format,
                                 kind, label_order, location, mixed_labels_message, needed_columns,
                                 normalise_row, split_indices)

__all__ = ["DataError", "PreparedData", "prepare_data", "read_records", "SUPPORTED_EXTENSIONS"]

SUPPORTED_EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet", ".txt")
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
_JSON_WS = re.compile(r"[ \t\n\r]*")


@dataclass
class Records:
    """Raw rows of one source, each with its 1-based line (text files) or row number."""

    file: str
    unit: str
    rows: list[tuple[int, dict[str, Any]]]


@dataclass
class PreparedData:
    """Checked, normalised rows in one format, split into train and validation."""

    format: str
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]] | None
    label_names: list[str] | None
    # {"train": [...], "validation": [...]}: 'file:line' of each row, parallel to the row lists.
    source_lines: dict[str, list[str]]
    warnings: list[str] = field(default_factory=list)


def prepare_data(spec: DataSpec, task: str, seed: int) -> PreparedData:
    """Read, validate and split the data of `spec` for `task`; raises DataError naming file and line."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if task == "preference":  # pairs or KTO rows have their own checks
        from studio.core.preference_rows import prepare_preference

        return prepare_preference(spec, seed)
    warnings: list[str] = []
    fmt, rows, locs = _checked(read_records(spec.train, task), spec, task, spec.format, warnings)
    labels = label_order(r["label"] for r in rows) if fmt == "classification" else None
    if labels is not None and len(labels) < 2:
        raise DataError(spec.train, None, f"only one distinct label ({labels[0]!r}) in {len(rows)} rows; "
                                          "classification needs at least 2 distinct labels")
    if spec.validation:
        val_src = read_records(spec.validation, task, split="validation")
        _, val, val_locs = _checked(val_src, spec, task, fmt, warnings)
        if labels is not None:
            check_known_labels(val_src.file, val_src.unit, [n for n, _ in val_src.rows], val, labels)
        return PreparedData(fmt, rows, val, labels, {"train": locs, "validation": val_locs}, warnings)
    fraction = spec.val_fraction if spec.val_fraction is not None else (0.1 if len(rows) > 50 else None)
    if fraction is None or len(rows) < 2:
        warnings.append(f"no validation split: only {len(rows)} rows (set data.val_fraction or "
                        "data.validation to evaluate)")
        return PreparedData(fmt, rows, None, labels, {"train": locs, "validation": []}, warnings)
    row_labels = [r["label"] for r in rows] if labels is not None else None
    train_idx, val_idx = split_indices(len(rows), fraction, seed, row_labels, warnings)
    return PreparedData(fmt, [rows[i] for i in train_idx], [rows[i] for i in val_idx], labels,
                        {"train": [locs[i] for i in train_idx], "validation": [locs[i] for i in val_idx]},
                        warnings)


def _checked(src: Records, spec: DataSpec, task: str, fmt: str,
             warnings: list[str]) -> tuple[str, list[dict[str, Any]], list[str]]:
    """Rename columns, settle the format, and check and normalise every row."""
    rows = _renamed(src, spec.columns)
    columns = list(dict.fromkeys(k for _, r in rows for k in r))
    if fmt == "auto":
        fmt = detect_format(columns, task, src.file)
    else:
        check_format(fmt, task, columns, src.file)
    needed = needed_columns(fmt, columns)
    out, locs = [], []
    first_label: tuple[int, type] | None = None
    for n, row in rows:
        try:
            norm = normalise_row(row, fmt, needed)
        except RowError as e:
            raise DataError(src.file, n, str(e), src.unit) from None
        if "label" in norm:
            if first_label is None:
                first_label = (n, type(norm["label"]))
            elif type(norm["label"]) is not first_label[1]:
                raise DataError(src.file, n, mixed_labels_message(norm["label"], first_label, src.unit), src.unit)
            norm["label"] = str(norm["label"])
        out.append(norm)
        locs.append(location(src.file, n, src.unit))
    ignored = [c for c in columns if c not in needed and c not in OPTIONAL.get(fmt, ())]
    if ignored:
        warnings.append(f"{src.file}: ignored columns not used by the {fmt} format: {', '.join(ignored)}")
    return fmt, out, locs


def _renamed(src: Records, columns: dict[str, str]) -> list[tuple[int, dict[str, Any]]]:
    """Apply data.columns (studio name -> file column); a mapped column must exist somewhere."""
    if not src.rows:
        raise DataError(src.file, None, "no rows")
    if not columns:
        return src.rows
    found = list(dict.fromkeys(k for _, r in src.rows for k in r))
    for studio, theirs in columns.items():
        if theirs not in found:
            raise DataError(src.file, None, f"data.columns maps {studio!r} to {theirs!r}, but there is no "
                                            f"column {theirs!r}; found {', '.join(map(repr, found))}")
    mapped = set(columns) | set(columns.values())
    return [(n, {**{k: v for k, v in r.items() if k not in mapped},
                 **{s: r[t] for s, t in columns.items() if t in r}}) for n, r in src.rows]


def read_records(value: str, task: str, split: str = "train") -> Records:
    """Raw rows of a data file, or of a hub dataset when `value` is no file but looks like owner/name."""
    path = Path(value)
    if not path.exists():
        if _HUB_ID.fullmatch(value) and path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            return _read_hub(value, split)
        raise DataError(value, None, "file not found")
    if path.is_dir():
        raise DataError(value, None, "is a folder; give a data file")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(value, None, f"unsupported file type {ext or '(no extension)'!r}; "
                                     f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    if ext == ".parquet":
        return _read_parquet(value)
    if ext == ".txt" and task != "causal-lm":
        raise DataError(value, None, f".txt files hold plain text for causal-lm; {task} needs labelled rows "
                                     "(.jsonl, .json, .csv or .parquet with text and label columns)")
    text = _decode(value, path.read_bytes())
    reader = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv, ".txt": _read_txt}[ext]
    return Records(value, "line", reader(text, value))


def _decode(file: str, raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        raise DataError(file, 1, "the file starts with a UTF-8 byte-order mark (BOM), which would become part "
                                 "of the first value; re-save it as plain UTF-8 without BOM (e.g. VS Code: "
                                 "'Save with Encoding' > 'UTF-8')")
    if not raw.strip():
        raise DataError(file, None, "the file is empty" if not raw else
                        "the file contains only whitespace — no rows")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # Name the line and the byte in it, so the user can find it in an editor.
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(file, line, f"not valid UTF-8: byte {raw[e.start:e.start + 1]!r} at byte "
                                    f"{e.start - line_start + 1} of this line (file offset {e.start}); the file "
                                    "looks like Latin-1/Windows-1252 — re-save it as UTF-8") from None


def _read_jsonl(text: str, file: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if not rows and stripped.startswith("["):
            raise DataError(file, n, "a JSON array, but .jsonl expects one object per line — rename to .json "
                                     "or write one object per line")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            hint = " (pretty-printed? .jsonl needs each object on one line)" if stripped == "{" else ""
            raise DataError(file, n, f"invalid JSON at column {e.colno}: {e.msg}{hint}") from None
        if not isinstance(obj, dict):
            raise DataError(file, n, f"expected a JSON object {{...}} on each line, got {kind(obj)}")
        rows.append((n, obj))
    return rows


def _read_json(text: str, file: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(file, e.lineno, f"invalid JSON at column {e.colno}: {e.msg}") from None
    if isinstance(data, dict) and not isinstance(data.get("data"), list):
        raise DataError(file, None, f"a top-level object without a 'data' list (keys: {', '.join(data)}); "
                                    "expected an array of objects [{...}, ...] or {\"data\": [{...}, ...]}")
    if not isinstance(data, (list, dict)):
        raise DataError(file, None, f"expected an array of objects, got {kind(data)}")
    rows = []
    for n, obj in _json_array_items(text, inside_data=isinstance(data, dict)):
        if not isinstance(obj, dict):
            raise DataError(file, n, f"expected a JSON object {{...}} for each row, got {kind(obj)}")
        rows.append((n, obj))
    return rows


def _json_array_items(text: str, inside_data: bool) -> list[tuple[int, Any]]:
    """Elements of the top-level (or "data") array with the line each starts on; syntax already checked."""
    decoder = json.JSONDecoder()
    pos = _JSON_WS.match(text, 0).end()
    if inside_data:  # walk the object's members; the last "data" wins, as in json.loads
        array_at = pos = _JSON_WS.match(text, pos + 1).end()
        while text[pos] != "}":
            key, pos = decoder.raw_decode(text, pos)
            pos = _JSON_WS.match(text, _JSON_WS.match(text, pos).end() + 1).end()
            if key == "data":
                array_at = pos
            _, pos = decoder.raw_decode(text, pos)
            pos = _JSON_WS.match(text, pos).end()
            if text[pos] == ",":
                pos = _JSON_WS.match(text, pos + 1).end()
        pos = array_at
    items, line, counted = [], 1, 0
    pos = _JSON_WS.match(text, pos + 1).end()
    while text[pos] != "]":
        line, counted = line + text.count("\n", counted, pos), pos
        value, pos = decoder.raw_decode(text, pos)
        items.append((line, value))
        pos = _JSON_WS.match(text, pos).end()
        if text[pos] == ",":
            pos = _JSON_WS.match(text, pos + 1).end()
    return items


def _read_csv(text: str, file: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    start = 1  # first line of the record being read
    try:
        for record in reader:
            n, start = start, reader.line_num + 1
            if not record:
                continue
            if header is None:
                header = [h.strip() for h in record]
                dupes = sorted({h for h in header if header.count(h) > 1})
                if dupes or not all(header):
                    raise DataError(file, n, f"the header row needs distinct, non-empty column names; "
                                             f"got {', '.join(map(repr, header))}")
                continue
            if len(record) != len(header):
                raise DataError(file, n, f"{len(record)} fields, but the header has {len(header)} "
                                         f"({', '.join(header)}); put fields containing commas in double quotes")
            rows.append((n, dict(zip(header, record))))
    except csv.Error as e:
        raise DataError(file, start, f"broken CSV quoting ({e}); wrap a field holding commas, quotes or line "
                                     "breaks in double quotes and double each quote inside it (\"\")") from None
    if not rows:
        raise DataError(file, None, "a header row but no data rows")
    return rows


def _read_txt(text: str, file: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    para: list[str] = []
    first = 0
    for n, line in enumerate(text.split("\n") + [""], 1):
        line = line.rstrip("\r")
        if line.strip():
            first = first if para else n
            para.append(line)
        elif para:
            rows.append((first, {"text": "\n".join(para)}))
            para = []
    return rows


def _read_parquet(file: str) -> Records:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(file).to_pylist()
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid / ArrowIOError
        raise DataError(file, None, f"cannot read this parquet file: {e}") from None
    return Records(file, "row", [(i, r) for i, r in enumerate(rows, 1)])


def _read_hub(name: str, split: str) -> Records:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise DataError(name, None, "file does not exist, and the hub could not be reached to load it as a "
                                    "dataset id (HF_HUB_OFFLINE=1)")
    try:
        import datasets

        ds = datasets.load_dataset(name, split=split)
    except Exception as e:  # network, auth, missing split and script errors all mean: not usable
        raise DataError(name, None, "file does not exist, and the hub could not be reached to load it as a "
                                    f"dataset id ({type(e).__name__}: {e})") from None
    return Records(name, "row", [(i, r) for i, r in enumerate(ds.to_list(), 1)])
