"""Describe an adapter folder from its files alone: PEFT's adapter_config.json, our studio.json and
the safetensors header (names and shapes, no weights read). No torch: the GUI lists with this."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.modelinfo.facts import folder_size, read_safetensors_header, safetensors_tensors

CONFIG_FILE, WEIGHTS_FILE, META_FILE = "adapter_config.json", "adapter_model.safetensors", "studio.json"
# PEFT types the studio has a method for (LoRA with use_dora is DoRA; QLoRA is only told by studio.json).
PEFT_METHODS = {"LORA": "lora", "IA3": "ia3", "PREFIX_TUNING": "prefix", "PROMPT_TUNING": "prompt"}
PEFT_TASKS = {"CAUSAL_LM": "causal-lm", "SEQ_CLS": "classification"}
MERGEABLE = ("lora", "qlora", "dora", "ia3", "bitfit", "top_k", "full")
LORA_LIKE = ("lora", "qlora", "dora")


class AdapterFormatError(ValueError):
    """The folder is not an adapter the studio can read (the message says what is missing)."""


@dataclass
class AdapterInfo:
    """What an adapter folder holds, as far as its files tell without loading anything."""

    path: str
    kind: str                      # peft | studio | full-model
    method: str | None             # the studio method name (lora, dora, ia3, prefix, houlsby ...)
    peft_type: str | None = None
    base_ref: str | None = None    # the base as the adapter names it (hub id or path)
    base_path: str | None = None   # the folder it was trained on (studio.json), if recorded
    task: str | None = None        # causal-lm | classification
    settings: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, list[int]] = field(default_factory=dict)
    trainable_params: int = 0
    size_bytes: int = 0
    id2label: dict[str, str] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    studio_meta: dict[str, Any] | None = None
    adapter_config: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def mergeable(self) -> bool:
        """Whether the method folds into the base weights."""
        return self.method in MERGEABLE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (settings_text included)."""
        return {**asdict(self), "mergeable": self.mergeable,
                "settings_text": settings_text(self.method, self.settings)}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or AdapterFormatError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise AdapterFormatError(f"{path}: unreadable ({e})") from None
    if not isinstance(data, dict):
        raise AdapterFormatError(f"{path}: not a JSON object")
    return data


def describe(folder: str | Path) -> AdapterInfo:
    """An AdapterInfo for a PEFT adapter, one of ours, or a whole (fully fine-tuned) model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AdapterFormatError(f"{folder}: no such folder")
    meta = read_json(folder / META_FILE) if (folder / META_FILE).is_file() else None
    if (folder / CONFIG_FILE).is_file():
        info = _adapter_info(folder, read_json(folder / CONFIG_FILE))
    elif (folder / "config.json").is_file():
        info = _full_model_info(folder)
    else:
        raise AdapterFormatError(f"{folder}: neither {CONFIG_FILE} (an adapter) nor config.json (a model)")
    info.size_bytes = folder_size(folder)
    info.studio_meta = meta
    if meta:
        _apply_meta(info, meta)
    if info.task is None:
        info.task = "classification" if head_tensors(info.tensors) else "causal-lm"
    return info


def _adapter_info(folder: Path, config: dict[str, Any]) -> AdapterInfo:
    weights = folder / WEIGHTS_FILE
    info = AdapterInfo(path=str(folder), kind="studio" if config.get("studio_method") else "peft",
                       method=config.get("studio_method"), adapter_config=config,
                       base_ref=config.get("base_model_name_or_path"))
    if weights.is_file():
        try:
            header = read_safetensors_header(weights)
        except ValueError as e:
            raise AdapterFormatError(str(e)) from None
        info.tensors = {n: list(e["shape"]) for n, e in header.items()}
    elif (folder / "adapter_model.bin").is_file():
        info.problems.append(f"{folder / 'adapter_model.bin'}: pickled weights; the studio reads "
                             "adapter_model.safetensors only (re-save the adapter with safetensors)")
    else:
        info.problems.append(f"{folder}: no {WEIGHTS_FILE}")
    info.trainable_params = sum(math.prod(s) for s in info.tensors.values())
    if info.kind == "studio":
        info.settings = dict(config.get("options") or {})
        return info
    info.peft_type = str(config.get("peft_type") or "")
    info.method = PEFT_METHODS.get(info.peft_type)
    if info.method is None:
        info.problems.append(f"PEFT type {info.peft_type or '(none)'} is not one of the studio's "
                             f"methods (PEFT types: {', '.join(PEFT_METHODS)})")
    elif info.method == "lora" and config.get("use_dora"):
        info.method = "dora"
    task_type = config.get("task_type")
    info.task = PEFT_TASKS.get(task_type) if task_type else None
    if task_type and info.task is None:
        info.problems.append(f"task_type {task_type} is not a studio task (CAUSAL_LM or SEQ_CLS)")
    info.settings = peft_settings(config)
    return info


def peft_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The sizes that matter from a PEFT adapter_config (rank, alpha, targets, virtual tokens)."""
    targets = config.get("target_modules")
    targets = sorted(targets) if isinstance(targets, (list, tuple, set)) else targets
    kind = config.get("peft_type")
    if kind == "LORA":
        out = {"r": config.get("r"), "alpha": config.get("lora_alpha"), "dropout": config.get("lora_dropout"),
               "target_modules": targets}
        if config.get("use_dora"):
            out["use_dora"] = True
        return out
    if kind == "IA3":
        ff = config.get("feedforward_modules")
        return {"target_modules": targets, "feedforward_modules": sorted(ff) if isinstance(ff, list) else ff}
    if kind in ("PREFIX_TUNING", "PROMPT_TUNING"):
        keys = ("num_virtual_tokens", "num_layers", "token_dim", "prefix_projection")
        return {k: config[k] for k in keys if k in config}
    return {}


def _full_model_info(folder: Path) -> AdapterInfo:
    config = read_json(folder / "config.json")
    info = AdapterInfo(path=str(folder), kind="full-model", method="full",
                       base_ref=config.get("_name_or_path") or None)
    try:
        info.tensors = {n: s for n, s, _ in safetensors_tensors(folder)}
    except ValueError as e:
        raise AdapterFormatError(str(e)) from None
    if not info.tensors:
        info.problems.append(f"{folder}: no safetensors weights")
    info.trainable_params = sum(math.prod(s) for s in info.tensors.values())
    archs = config.get("architectures") or []
    if archs:
        info.task = "classification" if "SequenceClassification" in archs[0] else "causal-lm"
    if isinstance(config.get("id2label"), dict) and info.task == "classification":
        info.id2label = {str(k): v for k, v in config["id2label"].items()}
    return info


def _apply_meta(info: AdapterInfo, meta: dict[str, Any]) -> None:
    """studio.json knows best: the method (QLoRA), the base as trained, labels, data and metrics."""
    info.method = meta.get("method") or info.method
    info.base_ref = meta.get("base_model") or info.base_ref
    info.base_path = meta.get("base_model_path")
    info.task = meta.get("task") or info.task
    if meta.get("id2label"):
        info.id2label = {str(k): v for k, v in meta["id2label"].items()}
    info.metrics = dict(meta.get("final_metrics") or {})
    if info.kind == "studio" or not info.settings:
        info.settings = dict(meta.get("method_options") or info.settings)
    data = ((meta.get("training") or {}).get("data") or {})
    info.dataset = meta.get("dataset") or (str(data["train"]) if data.get("train") else None)
    if meta.get("trainable_params") and info.kind != "full-model":
        info.trainable_params = int(meta["trainable_params"])


def head_tensors(tensors: dict[str, Any]) -> list[str]:
    """Names of classifier-head tensors (PEFT's modules_to_save or ours)."""
    return [n for n in tensors if strip_peft_prefix(n).split(".")[0] in ("classifier", "score")]


def strip_peft_prefix(name: str) -> str:
    """'transformer.h.0...' from PEFT's 'base_model.model.transformer.h.0...'."""
    for prefix in ("base_model.model.", "base_model."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def settings_text(method: str | None, settings: dict[str, Any]) -> str:
    """A short 'r 8 · alpha 16 · q_proj, v_proj' summary of an adapter's size settings."""
    s = settings or {}
    parts: list[str] = []
    if s.get("r") is not None:
        parts.append(f"r {s['r']}")
    if isinstance(s.get("alpha"), (int, float)):
        parts.append(f"alpha {s['alpha']:g}")
    for key, label in (("size", "size"), ("k", "top"), ("n", "n"), ("num_virtual_tokens", "tokens"),
                       ("bits", "bits")):
        if s.get(key) is not None:
            parts.append(f"{label} {s[key]}")
    targets = s.get("target_modules") or s.get("targets")
    if targets:
        parts.append(", ".join(targets) if isinstance(targets, list) else str(targets))
    return " · ".join(parts)


# Why each non-mergeable method cannot be folded into the base's weights (CLI and window share it).
WHY_NOT = {
    "prefix": "prefix tuning adds learned key/value vectors to every attention layer; they are extra "
              "inputs to attention, not a change of any weight",
    "prompt": "prompt tuning prepends learned vectors to the input embeddings; they are extra inputs, "
              "not a change of any weight",
    "houlsby": "bottleneck adapters add new layers (down-projection, non-linearity, up-projection); a "
               "non-linear block cannot be folded into the existing linear weights",
    "pfeiffer": "bottleneck adapters add new layers (down-projection, non-linearity, up-projection); a "
                "non-linear block cannot be folded into the existing linear weights",
    "compacter": "Compacter adds new PHM adapter layers with a non-linearity between them; they cannot "
                 "be folded into the existing linear weights",
}


def merge_refusal(method: str | None) -> str:
    """Why an adapter of this method cannot be merged into its base."""
    return WHY_NOT.get(str(method), f"the {method} method has no merge into the base weights")
