"""Worker log lines as people read them: transformers' Trainer prints each log as a Python dict with
quoted numbers ("{'loss': '2.345', 'grad_norm': '1.02', ...}"); the Runs page and `studio show` turn
those into "loss 2.345 · grad norm 1.02 · lr 0.0002 · epoch 0.5". Other lines pass unchanged."""
from __future__ import annotations

import ast

# How a Trainer key reads; keys not listed lose their underscores.
NAMES = {"loss": "loss", "learning_rate": "lr", "grad_norm": "grad norm", "eval_loss": "eval loss",
         "eval_accuracy": "eval accuracy", "train_loss": "mean train loss", "train_runtime": "trained for",
         "eval_runtime": "evaluated in"}
SECONDS = ("train_runtime", "eval_runtime")
SKIPPED = ("total_flos",)  # not something a person follows


def _number(value: object) -> str:
    try:
        number = float(value)  # "2.345" as printed by the Trainer, or a real number
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4g}"


def readable_line(line: str) -> str:
    """One log line: a Trainer log dict in words, anything else as it is."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return line
    try:
        logs = ast.literal_eval(text)  # a literal only: nothing in the log is ever executed
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return line
    if not isinstance(logs, dict) or not logs:
        return line
    parts = []
    for key, value in logs.items():
        if key in SKIPPED:
            continue
        name = NAMES.get(str(key), str(key).replace("_", " "))
        parts.append(f"{name} {_number(value)}{' s' if key in SECONDS else ''}")
    return " · ".join(parts)


def readable_log(text: str) -> str:
    """Every line of a log tail through readable_line."""
    return "\n".join(readable_line(line) for line in text.splitlines())
