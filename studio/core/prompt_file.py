"""Reading a prompts file (for comparisons): plain Python, so the CLI and the window share it."""
from __future__ import annotations

import json
from pathlib import Path

MAX_BYTES = 5_000_000  # a prompts file is typed by hand or exported, never this big


def read_prompts(path: str | Path) -> list[str]:
    """Prompts from a file: one per non-empty line, or .jsonl objects with "prompt" (or "instruction").

    Errors name the file (and line); an empty file is an error too."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    if file.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB; not a prompts file")
    prompts = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if file.suffix.lower() != ".jsonl":
            prompts.append(line.rstrip())
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: invalid JSON ({e.msg})") from None
        text = row.get("prompt", row.get("instruction")) if isinstance(row, dict) else None
        if not isinstance(text, str):
            raise ValueError(f"{path}:{n}: expected an object with a \"prompt\" string")
        prompts.append(text)
    if not prompts:
        raise ValueError(f"{path}: no prompts in the file")
    return prompts
