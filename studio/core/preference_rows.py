"""Preference data (task: preference): detect pairs or KTO rows, check every row, split off validation.

Pure Python like core/data.py, so `studio train` and the wizard reject bad pairs (file:line) before a run
exists. Formats:
- preference: `prompt` / `chosen` / `rejected`, each a text or a list of {role, content} messages; without
  `prompt`, `chosen` and `rejected` are whole conversations whose shared first turns are the prompt (TRL's
  conversational layout).
- kto: `prompt` / `completion` / `label` (true = a desirable answer, false = an undesirable one).
"""
from __future__ import annotations

from typing import Any

from studio.config import DataSpec
from studio.core.data import PreparedData, Records, _renamed, read_records
from studio.core.formats import DataError, RowError, check_format, detect_format, kind, location, split_indices

PAIRS, KTO = "preference", "kto"
PAIR_LOSSES = ("dpo", "orpo")  # KTO reads single labelled answers; a pairs file is unpaired for it
ROLES = ("system", "user", "assistant")
Messages = list[dict[str, str]]


def prepare_preference(spec: DataSpec, seed: int, loss: str | None = None) -> PreparedData:
    """Read, check and split preference data; `loss` (dpo, kto, orpo) also checks the format fits it."""
    warnings: list[str] = []
    fmt, rows, locs = _checked(read_records(spec.train, "preference"), spec, spec.format, loss, warnings)
    if spec.validation:
        src = read_records(spec.validation, "preference", split="validation")
        _, val, val_locs = _checked(src, spec, fmt, loss, warnings)
        return _fitted(PreparedData(fmt, rows, val, None, {"train": locs, "validation": val_locs}, warnings),
                       loss)
    # The same rule as prepare_data: hold out 10% once there are more than 50 rows.
    fraction = spec.val_fraction if spec.val_fraction is not None else (0.1 if len(rows) > 50 else None)
    if fraction is None or len(rows) < 2:
        warnings.append(f"no validation split: only {len(rows)} rows (set data.val_fraction or "
                        "data.validation to evaluate)")
        return _fitted(PreparedData(fmt, rows, None, None, {"train": locs, "validation": []}, warnings), loss)
    train_idx, val_idx = split_indices(len(rows), fraction, seed, None, warnings)
    data = PreparedData(fmt, [rows[i] for i in train_idx], [rows[i] for i in val_idx], None,
                        {"train": [locs[i] for i in train_idx], "validation": [locs[i] for i in val_idx]},
                        warnings)
    return _fitted(data, loss)


def _fitted(data: PreparedData, loss: str | None) -> PreparedData:
    """KTO given pairs: each pair becomes a desirable and an undesirable answer (as TRL's unpairing does)."""
    if loss != "kto" or data.format != PAIRS:
        return data
    data.warnings.append("loss kto reads single answers: each pair became one desirable (chosen) and one "
                         "undesirable (rejected) example")

    def unpaired(rows: list[dict[str, Any]] | None, locs: list[str]) -> tuple[list | None, list[str]]:
        if rows is None:
            return None, locs
        out = [{"prompt": r["prompt"], "completion": r[side], "label": side == "chosen"}
               for r in rows for side in ("chosen", "rejected")]
        return out, [loc for loc in locs for _ in range(2)]

    train, train_locs = unpaired(data.train, data.source_lines["train"])
    val, val_locs = unpaired(data.validation, data.source_lines["validation"])
    return PreparedData(KTO, train, val, None, {"train": train_locs, "validation": val_locs}, data.warnings)


def _checked(src: Records, spec: DataSpec, fmt: str, loss: str | None,
             warnings: list[str]) -> tuple[str, list[dict[str, Any]], list[str]]:
    rows = _renamed(src, spec.columns)
    columns = list(dict.fromkeys(k for _, r in rows for k in r))
    if fmt == "auto":
        fmt = detect_format(columns, "preference", src.file)
    else:
        check_format(fmt, "preference", columns, src.file)
    if fmt == KTO and loss in PAIR_LOSSES:
        raise DataError(src.file, None, f"a KTO file (prompt / completion / label), but loss {loss} needs "
                                        "pairs: prompt / chosen / rejected — set preference.loss: kto, or give "
                                        "a file of pairs")
    used = ("prompt", "chosen", "rejected") if fmt == PAIRS else ("prompt", "completion", "label")
    out, locs = [], []
    for n, row in rows:
        try:
            out.append(normalise_pair(row) if fmt == PAIRS else normalise_kto(row))
        except RowError as e:
            raise DataError(src.file, n, str(e), src.unit) from None
        locs.append(location(src.file, n, src.unit))
    ignored = [c for c in columns if c not in used]
    if ignored:
        warnings.append(f"{src.file}: ignored columns not used by the {fmt} format: {', '.join(ignored)}")
    if fmt == KTO and len({r["label"] for r in out}) < 2:
        only = "desirable (true)" if out[0]["label"] else "undesirable (false)"
        warnings.append(f"{src.file}: every label is {only}; KTO learns most from both kinds")
    return fmt, out, locs


def normalise_pair(row: dict[str, Any]) -> dict[str, Any]:
    """One pair as {prompt, chosen, rejected}: all texts, or all message lists when any side is one."""
    for side in ("chosen", "rejected"):
        if row.get(side) is None:
            raise RowError(f"no {side!r} answer: a preference pair needs both a chosen and a rejected answer")
    chosen, rejected = _side(row["chosen"], "chosen"), _side(row["rejected"], "rejected")
    if row.get("prompt") is None:
        prompt, chosen, rejected = _split_shared_prefix(chosen, rejected)
    else:
        prompt = _prompt(row["prompt"])
    if _same(chosen, rejected):
        raise RowError("'chosen' and 'rejected' are identical; a pair must prefer one answer over another")
    if any(isinstance(v, list) for v in (prompt, chosen, rejected)):
        return {"prompt": as_messages(prompt, "user"), "chosen": as_messages(chosen, "assistant"),
                "rejected": as_messages(rejected, "assistant")}
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def normalise_kto(row: dict[str, Any]) -> dict[str, Any]:
    """One KTO row as {prompt, completion, label: bool}."""
    for key in ("prompt", "completion", "label"):
        if row.get(key) is None:
            raise RowError(f"no {key!r} here (a KTO row needs prompt, completion and label true/false)")
    prompt, completion = _prompt(row["prompt"]), _side(row["completion"], "completion")
    if isinstance(prompt, list) or isinstance(completion, list):
        prompt, completion = as_messages(prompt, "user"), as_messages(completion, "assistant")
    return {"prompt": prompt, "completion": completion, "label": _bool_label(row["label"])}


def as_messages(value: str | Messages, role: str) -> Messages:
    """A text as one message of `role`; a message list as it is."""
    return [{"role": role, "content": value}] if isinstance(value, str) else value


def _bool_label(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # CSV cells hold texts only: accept their spelling of true and false.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RowError(f"'label' must be true (a desirable answer) or false (an undesirable one), got {kind(value)}")


def _prompt(value: Any) -> str | Messages:
    if isinstance(value, str):
        if not value.strip():
            raise RowError("'prompt' is empty")
        return value
    messages = _messages(value, "prompt")
    if messages[-1]["role"] == "assistant":
        raise RowError("'prompt' ends with an assistant turn; the prompt is what the answers reply to, so its "
                       "last message must be the user's (or the system's)")
    return messages


def _side(value: Any, key: str) -> str | Messages:
    if isinstance(value, str):
        if not value.strip():
            raise RowError(f"'{key}' is empty")
        return value
    messages = _messages(value, key)
    if not any(m["role"] == "assistant" for m in messages):
        raise RowError(f"'{key}' has no assistant turn; an answer is a text or messages with role 'assistant'")
    return messages


def _messages(value: Any, key: str) -> Messages:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise RowError(f"'{key}' must be a text or a non-empty list of {{role, content}} messages, "
                       f"got {kind(value)}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise RowError(f"{key}[{i}] must be an object with 'role' and 'content', got {kind(m)}")
        if m["role"] not in ROLES:
            raise RowError(f"{key}[{i}] has role {m['role']!r}; a role must be one of {', '.join(ROLES)}")
        if not isinstance(m["content"], str):
            raise RowError(f"{key}[{i}] content must be a text, got {kind(m['content'])}")
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _split_shared_prefix(chosen: str | Messages, rejected: str | Messages) -> tuple[Messages, Messages, Messages]:
    """TRL's extract_prompt: the turns both conversations share are the prompt, the rest the answers."""
    if not (isinstance(chosen, list) and isinstance(rejected, list)):
        raise RowError("no 'prompt': plain-text chosen/rejected answers need a prompt column (or give both as "
                       "conversations whose shared first turns are the prompt)")
    k = 0
    while k < min(len(chosen), len(rejected)) and chosen[k] == rejected[k]:
        k += 1
    while k and chosen[k - 1]["role"] == "assistant":  # a shared assistant turn belongs to both answers
        k -= 1
    if k == 0:
        raise RowError("empty prompt: 'chosen' and 'rejected' share no first user turn (give a 'prompt' "
                       "column, or start both conversations with the same user message)")
    if k == len(chosen) or k == len(rejected):
        raise RowError("'chosen' and 'rejected' are identical; a pair must prefer one answer over another")
    return chosen[:k], chosen[k:], rejected[k:]


def _same(a: str | Messages, b: str | Messages) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return as_messages(a, "assistant") == as_messages(b, "assistant")
