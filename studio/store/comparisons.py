"""Saved side-by-side comparisons: the grid, metrics and per-cell ratings; CSV / Markdown export.

Pure Python (no torch): the GUI reopens, rates and exports comparisons without a worker.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlite_utils

from studio.store.db import now, transaction

BASE = "base"  # the base-only column (studio.core.compare.BASE)
RATINGS = range(1, 6)  # a quick 1-5 rating per cell
_JSON = {"adapters": [], "adapter_paths": {}, "prompts": [], "settings": {}, "results": {}, "ratings": {}}


class ComparisonNotFound(LookupError):
    """No comparison with the given id."""

    def __init__(self, comparison_id: int) -> None:
        self.comparison_id = comparison_id
        super().__init__(f"no comparison with id {comparison_id}")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key, empty in _JSON.items():
        if key in row:
            row[key] = json.loads(row[key]) if row[key] else type(empty)()
    return row


def create_comparison(db: sqlite_utils.Database, *, base_model: str, columns: list[str], prompts: list[str],
                      settings: dict[str, Any], results: dict[str, Any], name: str | None = None,
                      task: str | None = None, adapter_paths: dict[str, str] | None = None,
                      eval_file: str | None = None, created_at: float | None = None) -> int:
    """Store a finished comparison and return its id (columns: adapter names, 'base' for base only)."""
    row = {"name": name, "created_at": now() if created_at is None else created_at, "base_model": base_model,
           "task": task, "adapters": json.dumps(list(columns)), "adapter_paths": json.dumps(adapter_paths or {}),
           "prompts": json.dumps(list(prompts)), "settings": json.dumps(settings),
           "eval_file": eval_file, "results": json.dumps(results, default=str), "ratings": "{}"}
    with transaction(db):
        cursor = db.execute(f"INSERT INTO comparisons ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                            list(row.values()))
    return int(cursor.lastrowid)


def get_comparison(db: sqlite_utils.Database, comparison_id: int) -> dict[str, Any]:
    """One comparison with every JSON column decoded, or raise ComparisonNotFound."""
    rows = list(db.query("SELECT * FROM comparisons WHERE id = ?", [int(comparison_id)]))
    if not rows:
        raise ComparisonNotFound(comparison_id)
    return _decode(rows[0])


def list_comparisons(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every comparison, newest first, without its results (n_prompts and n_rated instead)."""
    out = []
    for row in db.query("SELECT id, name, created_at, base_model, task, adapters, prompts, eval_file, ratings "
                        "FROM comparisons ORDER BY created_at DESC, id DESC"):
        row = _decode(row)
        row["n_prompts"] = len(row.pop("prompts"))
        row["n_rated"] = len(row.pop("ratings"))
        out.append(row)
    return out


def rating_key(row: int, column: str) -> str:
    """The ratings JSON key of one cell."""
    return f"{row}:{column}"


def set_rating(db: sqlite_utils.Database, comparison_id: int, row: int, column: str,
               rating: int | None) -> dict[str, int]:
    """Rate one cell 1-5 (row: 0-based prompt index), or clear it with None; returns all ratings."""
    if rating is not None and rating not in RATINGS:
        raise ValueError(f"rating must be {RATINGS.start}-{RATINGS.stop - 1} (or none to clear), got {rating}")
    with transaction(db):
        found = list(db.query("SELECT adapters, prompts, ratings FROM comparisons WHERE id = ?",
                              [int(comparison_id)]))
        if not found:
            raise ComparisonNotFound(comparison_id)
        c = _decode(found[0])
        if not 0 <= row < len(c["prompts"]):
            raise ValueError(f"comparison {comparison_id} has rows 1-{len(c['prompts'])}, not {row + 1}")
        if column not in c["adapters"]:
            raise ValueError(f"comparison {comparison_id} has no column {column!r}; "
                             f"columns: {', '.join(c['adapters'])}")
        ratings = c["ratings"]
        if rating is None:
            ratings.pop(rating_key(row, column), None)
        else:
            ratings[rating_key(row, column)] = int(rating)
        db.execute("UPDATE comparisons SET ratings = ? WHERE id = ?", [json.dumps(ratings), int(comparison_id)])
    return ratings


def rename_comparison(db: sqlite_utils.Database, comparison_id: int, name: str) -> None:
    """Give a comparison a new name."""
    with transaction(db):
        cursor = db.execute("UPDATE comparisons SET name = ? WHERE id = ?", [name, int(comparison_id)])
    if cursor.rowcount == 0:
        raise ComparisonNotFound(comparison_id)


def delete_comparison(db: sqlite_utils.Database, comparison_id: int) -> None:
    """Remove a comparison (its adapters stay)."""
    with transaction(db):
        cursor = db.execute("DELETE FROM comparisons WHERE id = ?", [int(comparison_id)])
    if cursor.rowcount == 0:
        raise ComparisonNotFound(comparison_id)


# --- export
def grid_rows(c: dict[str, Any]) -> list[dict[str, Any]]:
    """The grid as rows: prompt, outputs {column: text} and ratings {column: n} of each cell."""
    rows = c["results"].get("rows") or [{"prompt": p, "outputs": {}} for p in c["prompts"]]
    return [{"prompt": r["prompt"], "outputs": r.get("outputs", {}),
             "ratings": {col: c["ratings"][rating_key(i, col)] for col in c["adapters"]
                         if rating_key(i, col) in c["ratings"]}} for i, r in enumerate(rows)]


def metric_rows(c: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(metric name, {column: value}) for every metric any column has (accuracy, eval_loss ...)."""
    metrics = (c["results"].get("eval") or {}).get("metrics") or {}
    names = list(dict.fromkeys(k for col in c["adapters"] for k in metrics.get(col, {})))
    return [(n, {col: metrics.get(col, {}).get(n) for col in c["adapters"]}) for n in names]


def to_csv(c: dict[str, Any]) -> str:
    """One line per prompt: #, prompt, each column's output, then each column's rating; metrics below."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    cols = c["adapters"]
    w.writerow(["#", "prompt", *cols, *(f"{col} rating" for col in cols)])
    for i, r in enumerate(grid_rows(c), 1):
        w.writerow([i, r["prompt"], *(r["outputs"].get(col, "") for col in cols),
                    *(r["ratings"].get(col, "") for col in cols)])
    for name, values in metric_rows(c):
        w.writerow(["metric", name, *("" if values[col] is None else values[col] for col in cols)])
    return out.getvalue()


def _md(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def to_markdown(c: dict[str, Any]) -> str:
    """A Markdown report: what was compared, the grid (ratings as ★n) and a metrics table."""
    cols = c["adapters"]
    s = c.get("settings") or {}
    lines = [f"# {c.get('name') or 'Comparison'} (#{c['id']})", "",
             f"- base model: `{c['base_model']}`", f"- task: {c.get('task') or '?'}",
             f"- columns: {', '.join(cols)}",
             "- generation: " + ", ".join(f"{k}={v}" for k, v in s.items()), ""]
    lines += ["| # | prompt | " + " | ".join(_md(col) for col in cols) + " |",
              "|---|---|" + "---|" * len(cols)]
    for i, r in enumerate(grid_rows(c), 1):
        cells = [_md(r["outputs"].get(col, "")) + (f" ★{r['ratings'][col]}" if col in r["ratings"] else "")
                 for col in cols]
        lines.append(f"| {i} | {_md(r['prompt'])} | " + " | ".join(cells) + " |")
    metrics = metric_rows(c)
    if metrics:
        lines += ["", f"Metrics on `{c.get('eval_file')}`:", "",
                  "| metric | " + " | ".join(_md(col) for col in cols) + " |", "|---|" + "---|" * len(cols)]
        lines += [f"| {n} | " + " | ".join(_fmt(v[col]) for col in cols) + " |" for n, v in metrics]
    return "\n".join(lines) + "\n"
