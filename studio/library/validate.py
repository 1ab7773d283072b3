"""Does an adapter fit a base model? Checked from headers only: the base's config.json and its
safetensors headers against the adapter's tensor names and shapes. No torch, no weights read.

check() returns differences as text, e.g. "tensor X: adapter has (8, 64), base expects (8, 32)";
an empty list means the adapter fits.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studio.library.inspect import AdapterInfo, head_tensors, read_json, strip_peft_prefix
from studio.modelinfo.facts import CONV1D_TYPES, ModelFacts, apply_config, safetensors_tensors
from studio.modelinfo.sources import ModelNotFound, resolve_model

_LORA = re.compile(r"^(.*)\.(lora_A|lora_B|lora_embedding_A|lora_embedding_B|lora_magnitude_vector)"
                   r"(?:\.(weight|bias))?$")
_OURS = re.compile(r"^(.*)\.studio_adapter\.(down|up)\.(weight|bias|b|s|t)$")
_FINAL_HEAD = ("classifier", "score", "out_proj")
_NOT_CONV1D = ("wte", "wpe", "lm_head", "score", "classifier")


class BaseNotFound(LookupError):
    """The adapter's base model is neither a folder here nor in the Hugging Face cache."""


def locate_base(ref: str | None, hint: str | None = None) -> Path:
    """The base's local folder (or .gguf file): `hint` if it exists, else `ref` as a folder, sample or
    cached hub id."""
    for candidate in (hint, ref):
        if candidate and (Path(candidate).expanduser() / "config.json").is_file():
            return Path(candidate).expanduser().resolve()
    if not ref:
        raise BaseNotFound("the adapter names no base model; pass the base's folder (--base)")
    try:
        src = resolve_model(ref)
    except ModelNotFound as e:
        raise BaseNotFound(f"base model {ref!r} not found ({e}); pass the base's folder (--base)") from None
    if src.kind == "gguf":
        return Path(src.path) / str(src.gguf_file)
    if src.kind == "folder":
        return Path(src.path)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(ref, "config.json")
    if isinstance(cached, str):
        return Path(cached).parent
    raise BaseNotFound(f"base model {ref!r} is not on this machine (no such folder, not in the Hugging "
                       "Face cache); download it first or pass the base's folder (--base)")


class _Shapes:
    """The base's tensor shapes, found by name even when one side has an extra leading prefix
    (a checkpoint saved as GPT2Model has 'h.0...', GPT2LMHeadModel 'transformer.h.0...')."""

    def __init__(self, shapes: dict[str, list[int]]) -> None:
        self.shapes = shapes
        self.by_suffix: dict[str, str] = {}
        for n in shapes:
            parts = n.split(".")
            for i in range(1, len(parts) - 1):
                self.by_suffix.setdefault(".".join(parts[i:]), n)

    def find(self, name: str) -> list[int] | None:
        if name in self.shapes:
            return self.shapes[name]
        if name in self.by_suffix:
            return self.shapes[self.by_suffix[name]]
        parts = name.split(".")
        for i in range(1, len(parts) - 1):
            if ".".join(parts[i:]) in self.shapes:
                return self.shapes[".".join(parts[i:])]
        return None


def check(info: AdapterInfo, base: str | Path) -> list[str]:
    """Differences between the adapter and the base at `base` (a folder); [] when it fits."""
    base = Path(base)
    if base.suffix.lower() == ".gguf" or not (base / "config.json").is_file():
        return []  # a GGUF base has no safetensors names to compare; the load checks it
    facts = ModelFacts()
    apply_config(facts, read_json(base / "config.json"))
    try:
        shapes = _Shapes({n: s for n, s, _ in safetensors_tensors(base)})
    except ValueError as e:
        return [str(e)]
    if not shapes.shapes:
        return []  # pickled .bin weights: nothing to read without loading them
    ctx = _Context(facts, shapes, len(info.id2label) if info.id2label else None)
    diffs = _check_prompt(info, facts) if info.method in ("prefix", "prompt") else []
    heads = set(head_tensors(info.tensors))
    for name, shape in info.tensors.items():
        rel = strip_peft_prefix(name)
        if rel.split(".")[-1] == "prompt_embeddings":
            continue  # checked by _check_prompt
        if name in heads:
            diffs += ctx.head(name, rel, shape)
        elif rel.endswith("studio_adapter_rule.weight"):
            continue  # Compacter's shared n×n×n rule: sized by n alone
        elif (m := _LORA.match(rel)) or (m := _OURS.match(rel)):
            diffs += ctx.module(name, m.group(1), rel[len(m.group(1)) + 1:], shape)
        elif rel.endswith(".ia3_l"):
            diffs += ctx.module(name, rel[: -len(".ia3_l")], "ia3_l", shape)
        else:
            diffs += ctx.same(name, rel, shape)
    if info.kind == "full-model" and info.tensors and not ctx.matched:
        diffs.append("no tensor of the model has a name the base has (a different architecture?)")
    return diffs


class _Context:
    """Expected shapes for one base: module widths (Conv1D-aware), hidden size, label count."""

    def __init__(self, facts: ModelFacts, shapes: _Shapes, num_labels: int | None) -> None:
        self.facts, self.shapes, self.num_labels = facts, shapes, num_labels
        self.matched = 0

    def module_dims(self, module: str) -> tuple[int, int] | None:
        """(d_out, d_in) of a base layer; GPT-2's Conv1D stores [d_in, d_out] (fan_in_fan_out)."""
        shape = self.shapes.find(module + ".weight")
        if shape is None or len(shape) != 2:
            return None
        conv1d = self.facts.model_type in CONV1D_TYPES and not any(p in module for p in _NOT_CONV1D)
        return (shape[1], shape[0]) if conv1d else (shape[0], shape[1])

    def module(self, name: str, module: str, part: str, shape: list[int]) -> list[str]:
        """A tensor hung on a base layer (LoRA, DoRA, IA3, our bottleneck adapters)."""
        dims = self.module_dims(module)
        if dims is None:
            return [f"tensor {name}: the base has no layer {module}"]
        self.matched += 1
        out, inp = dims
        s = list(shape)
        if part.startswith("lora_embedding_"):  # an embedding stores [num_embeddings, dim]
            expected = [s[0], out] if part.endswith("A") else [inp, s[-1]]
        elif part == "lora_A.weight":
            expected = [s[0], inp]
        elif part == "lora_B.weight":
            expected = [out, s[-1]]
        elif part.startswith(("lora_B.bias", "lora_magnitude_vector", "up.bias")):
            expected = [out]
        elif part == "ia3_l":  # (d_out, 1) rescales outputs; (1, d_in) a feed-forward layer's input
            expected = [1, inp] if len(s) == 2 and s[0] == 1 and s[1] != 1 else [out, 1]
        elif part == "down.weight":
            expected = [s[0], out]
        elif part == "up.weight":
            expected = [out, s[-1]]
        elif part in ("down.b", "down.s", "up.t") and len(s) == 3:  # PHM: n blocks of d/n rows
            expected = [s[0], out // s[0] if s[0] else 0, s[2]]
        elif part == "up.b" and len(s) == 3:
            expected = [s[0], s[1], out // s[0] if s[0] else 0]
        else:
            return []
        return [] if s == expected else [_differs(name, s, expected)]

    def same(self, name: str, rel: str, shape: list[int]) -> list[str]:
        """A base weight the method trained itself (BitFit, top-K, layer norms, full fine-tuning)."""
        expected = self.shapes.find(rel)
        if expected is None:
            return [f"tensor {name}: the base has no tensor {rel}"]
        self.matched += 1
        return [] if list(shape) == list(expected) else [_differs(name, shape, expected)]

    def head(self, name: str, rel: str, shape: list[int]) -> list[str]:
        """A new classifier head: its input is the hidden size, its final output the label count."""
        s = list(shape)
        module = rel.rpartition(".")[0]
        final = module.split(".")[-1] in _FINAL_HEAD
        out = self.num_labels if final and self.num_labels else s[0]
        if len(s) == 2:
            expected = [out, self.facts.hidden_size or s[1]]
        elif len(s) == 1:
            expected = [out]
        else:
            return []
        return [] if s == expected else [_differs(name, s, expected)]


def _check_prompt(info: AdapterInfo, facts: ModelFacts) -> list[str]:
    """Prompt/prefix vectors: width = hidden size (prompt) or layers × 2 × key/value width (prefix)."""
    diffs = []
    cfg = info.adapter_config or {}
    if cfg.get("num_layers") and facts.layers and cfg["num_layers"] != facts.layers:
        diffs.append(f"num_layers: adapter has {cfg['num_layers']}, base has {facts.layers}")
    kv_width = (facts.head_dim or 0) * (facts.kv_heads or 0) or facts.hidden_size
    for name, shape in info.tensors.items():
        if name.endswith("prompt_embeddings") and len(shape) == 2 and facts.hidden_size:
            width = facts.hidden_size if info.method == "prompt" else 2 * (facts.layers or 0) * (kv_width or 0)
            if shape[1] != width:
                diffs.append(_differs(name, shape, [shape[0], width]))
    return diffs


def _differs(name: str, has: Any, expected: Any) -> str:
    return f"tensor {name}: adapter has {tuple(has)}, base expects {tuple(expected)}"


def summary(diffs: list[str], limit: int = 8) -> str:
    """The first `limit` differences, one per line, and how many more there are."""
    lines = diffs[:limit]
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more")
    return "\n  ".join(lines)
