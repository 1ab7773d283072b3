"""RunConfig: model + data + method + training, read from YAML/JSON and validated field by field.

The GUI writes the same file the CLI reads. Every error names the key's path (``training.batch_size``)
and the file it came from. Method options are validated by the method registry
(``studio.methods.parse_options``) because each method owns its option dataclass.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("causal-lm", "classification", "preference")
DATA_FORMATS = ("auto", "text", "instruction", "chat", "completion", "classification", "preference", "kto")
SCHEDULES = ("linear", "cosine", "constant", "stlr")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PACKING = ("auto", "on", "off")
CHECKPOINTING = ("off", "on", "offload")
KERNELS = ("auto", "liger", "none")


class ConfigError(ValueError):
    """A config value is missing, unknown, of the wrong type or impossible; names file and key."""

    def __init__(self, message: str, path: str | None = None, source: str | None = None):
        self.message, self.path, self.source = message, path, source
        where = ": ".join(p for p in (source, path) if p)
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, source: str | None) -> "ConfigError":
        """The same error, naming the file it came from."""
        return ConfigError(self.message, self.path, source)


def opt(default: Any = dataclasses.MISSING, doc: str = "", *, choices: tuple | None = None,
        min: float | None = None, max: float | None = None, min_exclusive: bool = False,
        default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with a one-line doc and the checks the validator applies."""
    meta = {"doc": doc, "choices": choices, "min": min, "max": max, "min_exclusive": min_exclusive}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataSpec:
    """Where the examples come from and how they become tokens."""

    train: str = opt(doc="Training file (.jsonl .json .csv .parquet .txt) or a hub dataset id")
    validation: str | None = opt(None, "Validation file; if absent, val_fraction of train is held out")
    val_fraction: float | None = opt(None, "Share of train held out for eval (default 0.1 when > 50 rows)",
                                     min=0.0, max=0.9, min_exclusive=True)
    format: str = opt("auto", "Example format; auto detects it from the columns", choices=DATA_FORMATS)
    max_length: int = opt(256, "Longest example in tokens; longer ones are truncated with a warning",
                          min=8, max=131072)
    train_on_prompt: bool = opt(False, "Also train on prompt tokens (default: answer tokens only)")
    columns: dict[str, str] = opt(doc="Rename map: studio column -> your file's column",
                                  default_factory=dict)


@dataclass
class MethodSpec:
    """Which fine-tuning method and its options (validated by the method's own dataclass)."""

    name: str = opt("lora", "Method name, e.g. lora or full")
    options: dict[str, Any] = opt(doc="The method's options", default_factory=dict)


@dataclass
class UlmfitSpec:
    """ULMFiT (Howard & Ruder 2018): discriminative LRs, gradual unfreezing, slanted triangular LRs."""

    discriminative_decay: float | None = opt(
        None, "Each lower layer group learns at the rate above / this (paper: 2.6; off when empty)",
        min=1.0, max=100.0)
    gradual_unfreezing: bool = opt(False, "Train the top layer group first, then unfreeze one more per stage")
    unfreeze_every: int | None = opt(None, "Optimizer steps per unfreezing stage (default: one epoch)", min=1)
    cut_frac: float = opt(0.1, "stlr: share of the steps spent rising to the peak LR",
                          min=0.0, max=0.9, min_exclusive=True)
    ratio: float = opt(32.0, "stlr: how much smaller the lowest LR is than the peak", min=1.0, max=1e6)

    @property
    def active(self) -> bool:
        """Whether the trainer needs per-layer-group optimizer groups."""
        return self.discriminative_decay is not None or self.gradual_unfreezing


@dataclass
class TrainingSpec:
    """Optimisation settings."""

    max_steps: int | None = opt(None, "Optimizer steps to train (default 100 unless epochs is set)", min=1)
    epochs: float | None = opt(None, "Passes over the training data (instead of max_steps)",
                               min=0.0, min_exclusive=True)
    batch_size: int = opt(8, "Examples per device step", min=1, max=4096)
    gradient_accumulation: int = opt(1, "Device steps per optimizer step", min=1, max=1024)
    learning_rate: float | None = opt(None, "Peak learning rate (default: the method's recommended rate)",
                                      min=0.0, max=1.0, min_exclusive=True)
    schedule: str = opt("linear", "Learning-rate schedule after warm-up (stlr: ULMFiT's slanted triangle)",
                         choices=SCHEDULES)
    warmup_ratio: float = opt(0.0, "Share of steps spent warming up the learning rate", min=0.0, max=0.99)
    weight_decay: float = opt(0.0, "AdamW weight decay", min=0.0, max=1.0)
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0 disables)", min=0.0)
    save_steps: int = opt(20, "Write a complete checkpoint every N steps", min=1)
    eval_steps: int = opt(20, "Evaluate on the validation split every N steps", min=1)
    logging_steps: int = opt(1, "Record train loss, LR and grad norm every N steps", min=1)
    keep_checkpoints: int = opt(2, "Complete checkpoints kept on disk (older ones are deleted)", min=1)
    seed: int = opt(0, "Random seed for initialisation, data order and dropout", min=0)
    device: str = opt("auto", "Where to train: auto picks CUDA when present", choices=DEVICES)
    precision: str = opt("auto", "Compute precision: auto = bf16 on capable GPUs, else fp32",
                         choices=PRECISIONS)
    ulmfit: UlmfitSpec = opt(doc="ULMFiT recipe: discriminative LRs, gradual unfreezing, stlr settings",
                             default_factory=UlmfitSpec)
    packing: Any = opt("auto", "Padding-free packing of causal-LM examples: auto (where the model's "
                       "attention honours it) | on | off")
    activation_checkpointing: Any = opt("off", "Recompute activations in the backward pass to save memory: "
                                        "off | on | offload (CUDA: keep them in pinned CPU memory) | "
                                        "{every_n: K} (every K-th block)")
    kernels: str = opt("auto", "Fused kernels: auto (Liger on CUDA when installed) | liger | none",
                       choices=KERNELS)
    oom_retry: bool = opt(True, "On CUDA out-of-memory, resume from the last checkpoint with half the "
                          "micro-batch and twice the accumulation (same effective batch)")
    distributed: Any = opt(doc="Several processes (GPUs) through torchrun: processes (N | auto), strategy "
                           "(ddp | fsdp), stall_timeout_s (studio/distributed_config.py)",
                           default_factory=lambda: _distributed_section(None))

    def __post_init__(self) -> None:
        if self.max_steps is not None and self.epochs is not None:
            raise ConfigError("give max_steps or epochs, not both", "epochs")
        if self.max_steps is None and self.epochs is None:
            self.max_steps = 100
        if self.schedule == "stlr" and self.warmup_ratio > 0:
            raise ConfigError("stlr rises to its peak by itself (ulmfit.cut_frac); set warmup_ratio to 0",
                              "warmup_ratio")
        self.packing = _on_off(self.packing, PACKING, "packing")
        self.activation_checkpointing = _checkpointing(self.activation_checkpointing)
        self.distributed = _distributed_section(self.distributed)

    @property
    def checkpoint_every(self) -> int | None:
        """Blocks per checkpointed block (1 = every block), or None when checkpointing is off."""
        ac = self.activation_checkpointing
        if isinstance(ac, dict):
            return ac["every_n"]
        return None if ac == "off" else 1


def _on_off(value: Any, choices: tuple[str, ...], path: str) -> str:
    # YAML 1.1 reads a bare on/off as true/false; both spellings mean the same here.
    if isinstance(value, bool):
        value = "on" if value else "off"
    if value not in choices:
        raise ConfigError(f"{value!r} is not one of: {', '.join(choices)}", path)
    return value


def _distributed_section(value: Any) -> Any:
    # Built here rather than typed on the field: studio/distributed_config.py imports this module.
    from studio.distributed_config import build_distributed

    return build_distributed(value)


def _checkpointing(value: Any) -> Any:
    path = "activation_checkpointing"
    if isinstance(value, dict):
        if set(value) != {"every_n"}:
            raise ConfigError("expected off, on, offload or a mapping {every_n: K}", path)
        k = value["every_n"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"must be a whole number >= 1, got {k!r}", f"{path}.every_n")
        return {"every_n": k}
    return _on_off(value, CHECKPOINTING, path)


@dataclass
class RunConfig:
    """One fine-tuning run: model + data + method + training."""

    name: str = opt(doc="Run name; also the saved adapter's name")
    task: str = opt(doc="causal-lm (SFT), classification or preference (DPO/KTO/ORPO)", choices=TASKS)
    model: str = opt(doc="Local folder, hub id, .gguf file or sample:NAME")
    data: DataSpec = opt(doc="Training data")
    method: MethodSpec = opt(doc="Fine-tuning method", default_factory=MethodSpec)
    training: TrainingSpec = opt(doc="Optimisation settings", default_factory=TrainingSpec)
    trust_remote_code: bool = opt(False, "Run the model repository's own Python code (off by default)")
    preference: Any = opt(None, "task preference: the loss (dpo, kto, orpo) and its knobs "
                          "(studio/preference_config.py)")

    def __post_init__(self) -> None:
        self.preference = _preference_section(self.task, self.preference, self.training)
        # An omitted learning rate is the method's own for this task (prompt tuning 0.3, full 5e-5, LoRA
        # 2e-4 generating but 2e-3 classifying ...), resolved here so the stored config, `studio show`
        # and the worker all hold the number actually used.
        if self.training.learning_rate is None:
            self.training.learning_rate = method_learning_rate(self.method.name, self.model_task)

    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> "RunConfig":
        """Build and validate from a plain dict (as read from YAML/JSON)."""
        try:
            if not isinstance(data, dict):
                raise ConfigError(f"expected a mapping at the top level, got {_type_name(data)}")
            data = dict(data)
            method = data.get("method", {})
            if isinstance(method, str):
                method = {"name": method}
            if isinstance(method, dict):
                rest = {k: v for k, v in method.items() if k != "name"}
                data["method"] = {"name": method.get("name", "lora"), "options": rest}
            return build_dataclass(cls, data, "")
        except ConfigError as err:
            raise err.located(source) from None

    @property
    def model_task(self) -> str:
        """The kind of model the run trains: preference tuning trains a causal LM."""
        return "causal-lm" if self.task == "preference" else self.task

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the file's shape (method options flattened into the method section)."""
        d = dataclasses.asdict(self)
        d["method"] = {"name": self.method.name, **self.method.options}
        if d["preference"] is None:
            del d["preference"]  # the section exists for task preference only
        return d


def _preference_section(task: str, value: Any, training: TrainingSpec) -> Any:
    # Built here rather than typed on the field: studio/preference_config.py imports this module.
    from studio.preference_config import PreferenceSpec, check_with_training

    if task != "preference":
        if value is not None:
            raise ConfigError("only task preference reads this section", "preference")
        return None
    spec = value if isinstance(value, PreferenceSpec) else build_dataclass(PreferenceSpec, value, "preference")
    check_with_training(spec, training)
    return spec


def method_learning_rate(name: str, task: str = "causal-lm") -> float:
    """The method's recommended peak learning rate for a model task (ConfigError naming method.name if unknown)."""
    from studio.methods.rates import RECOMMENDED_RATES, recommended_rate  # torch-free

    if name not in RECOMMENDED_RATES:
        raise ConfigError(f"unknown method {name!r}; known: {', '.join(sorted(RECOMMENDED_RATES))}", "method.name")
    return recommended_rate(name, task)


def load_config(path: str | Path) -> RunConfig:
    """Read a YAML or JSON config file; errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", source=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte {e.start})", source=str(path)) from None
    return RunConfig.from_dict(parse_text(text, path), source=str(path))


def parse_text(text: str, path: Path) -> Any:
    """Parse YAML or JSON text; syntax errors name the line."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"line {e.lineno}: invalid JSON: {e.msg}", source=str(path)) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{line}invalid YAML: {getattr(e, 'problem', e)}", source=str(path)) from None


def dump_config(cfg: RunConfig, path: str | Path) -> None:
    """Write the config as YAML (the same shape load_config reads)."""
    import yaml

    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> one-line doc, for help texts and tooltips."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}


def build_dataclass(cls: type, data: Any, path: str) -> Any:
    """Instantiate dataclass `cls` from a dict, checking keys, types and limits; errors carry `path`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping, got {_type_name(data)}", path or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown key{hint}; allowed: {', '.join(fields)}", _join(path, key))
    values = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError("required key is missing", sub)
            continue
        values[name] = _check_value(data[name], hints[name], f.metadata, sub)
    try:
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(e.message, _join(path, e.path) if e.path else path or None) from None


def _check_value(value: Any, hint: Any, meta: Any, path: str) -> Any:
    """Coerce-free type check plus choices and numeric limits."""
    value = _check_type(value, hint, path)
    if value is None:
        return value
    choices = meta.get("choices") if meta else None
    if choices and value not in choices:
        raise ConfigError(f"{value!r} is not one of: {', '.join(map(str, choices))}", path)
    if meta and isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and (value < lo or (meta.get("min_exclusive") and value == lo)):
            op = ">" if meta.get("min_exclusive") else ">="
            raise ConfigError(f"must be {op} {lo}, got {value}", path)
        if hi is not None and value > hi:
            raise ConfigError(f"must be <= {hi}, got {value}", path)
    return value


def _check_type(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(value, inner[0], path) if len(inner) == 1 else value
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, path)
    if hint is typing.Any:
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {_type_name(value)}", path)
        _, vt = typing.get_args(hint) or (str, typing.Any)
        return {str(k): _check_type(v, vt, _join(path, str(k))) for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, got {_type_name(value)}", path)
        (it,) = typing.get_args(hint) or (typing.Any,)
        return [_check_type(v, it, f"{path}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", path)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"expected a whole number, got {value!r}", path)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", path)
        return float(value)
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"expected a non-empty text, got {value!r}", path)
        return value
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)
