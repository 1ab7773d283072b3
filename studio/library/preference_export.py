"""A saved comparison's ratings -> preference pairs (prompt / chosen / rejected JSONL) for task preference.

For each prompt, every two rated outputs with different ratings make one pair, the higher-rated output
chosen: N outputs rated 5, 3, 1 give 3 pairs. Equal ratings say nothing about which is better and are
skipped (counted as ties); so are two outputs with the same text (the validator rejects such a pair) and
unrated or empty cells. Torch-free: the GUI thread and `studio compare --export-preferences` call it.
"""
from __future__ import annotations

import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from studio.store.comparisons import grid_rows


def preference_pairs(c: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """(pairs, summary) of a comparison; summary counts pairs, ties, identical outputs and prompts used."""
    pairs: list[dict[str, str]] = []
    summary = {"pairs": 0, "ties": 0, "identical": 0, "prompts": 0, "rated": 0}
    for row in grid_rows(c):
        rated = [(col, row["ratings"][col], row["outputs"].get(col) or "") for col in c["adapters"]
                 if col in row["ratings"] and (row["outputs"].get(col) or "").strip()]
        summary["rated"] += len(rated)
        before = len(pairs)
        for (_, ra, a), (_, rb, b) in itertools.combinations(rated, 2):
            if ra == rb:
                summary["ties"] += 1
            elif a.strip() == b.strip():
                summary["identical"] += 1
            else:
                chosen, rejected = (a, b) if ra > rb else (b, a)
                pairs.append({"prompt": row["prompt"], "chosen": chosen, "rejected": rejected})
        summary["prompts"] += len(pairs) > before
    summary["pairs"] = len(pairs)
    return pairs, summary


def export_preferences(c: dict[str, Any], path: str | Path) -> dict[str, int]:
    """Write the comparison's pairs as JSONL to `path` (atomically); returns the summary."""
    pairs, summary = preference_pairs(c)
    if not pairs:
        raise ValueError(f"comparison {c.get('id')} has no pair to export: rate at least two outputs of the "
                         f"same prompt differently ({summary['ties']} equal ratings)")
    target = Path(path)
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)
    # Write beside the target and rename, so a crash never leaves half a file the wizard would reject.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary
