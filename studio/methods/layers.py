"""Where a transformer keeps its blocks and its task head, found by structure, not by model name.

Used by top-K (which blocks to train), the bottleneck adapters (where to insert) and ULMFiT
(which layer group a parameter belongs to).
"""
from __future__ import annotations

import re
from typing import Any

EMBEDDINGS, HEAD = "embeddings", "head"
_BLOCK_INDEX = re.compile(r"\.(\d+)\.")


def block_list(model: Any) -> tuple[str, Any]:
    """(qualified name, ModuleList) of the transformer blocks: the longest list of same-class modules."""
    import torch.nn as nn

    best: tuple[str, Any] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            if len({type(m) for m in module}) == 1 and (best is None or len(module) > len(best[1])):
                best = (name, module)
    if best is None:
        raise ValueError(f"{type(model).__name__}: found no list of transformer blocks")
    return best


def block_of(param_name: str, blocks_name: str) -> int | None:
    """Index of the block a parameter lives in, or None when it is outside every block."""
    marker = blocks_name + "."
    at = param_name.find(marker)
    if at < 0:
        return None
    match = _BLOCK_INDEX.match("." + param_name[at + len(marker):])
    return int(match.group(1)) if match else None


def head_prefixes(model: Any) -> list[str]:
    """Top-level modules outside the base model (a classifier's `classifier`/`score`, an LM's head)."""
    base = getattr(model, "base_model_prefix", "")
    return [name for name, _ in model.named_children() if name != base]


def train_classifier_head(model: Any, task: str) -> list[str]:
    """Make a sequence classifier's new head trainable (every method trains it); return its names."""
    if task != "classification":
        return []
    names = []
    for prefix in head_prefixes(model):
        for name, p in getattr(model, prefix).named_parameters():
            p.requires_grad_(True)
            names.append(f"{prefix}.{name}")
    return names


def freeze(model: Any) -> None:
    """Every parameter frozen; methods then switch on exactly what they train."""
    for p in model.parameters():
        p.requires_grad_(False)


def merged_in_place(model: Any) -> Any:
    """Merge for methods that train the base's own tensors (full, BitFit, top-K): the trained model
    already is the plain model, so only the training flags are cleared."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def layer_groups(model: Any, only_trainable: bool = True) -> list[tuple[str, list[str]]]:
    """ULMFiT layer groups, bottom to top: embeddings, block 0..L-1, head; empty groups dropped.

    Parameters before the first block (in registration order) and soft prompts/prefixes form the
    embeddings group; a parameter inside block i (an adapter, a LoRA matrix) is in group i;
    everything after the blocks (final norm, pooler, classifier, shared Compacter rule) is the head.
    """
    blocks_name, blocks = block_list(model)
    groups: dict[str, list[str]] = {EMBEDDINGS: []}
    groups.update({f"block {i}": [] for i in range(len(blocks))})
    groups[HEAD] = []
    seen_block = False
    for name, p in model.named_parameters():
        if only_trainable and not p.requires_grad:
            if block_of(name, blocks_name) is not None:
                seen_block = True
            continue
        index = block_of(name, blocks_name)
        if index is not None:
            seen_block = True
            groups[f"block {index}"].append(name)
        elif "prompt_encoder" in name or not seen_block:
            groups[EMBEDDINGS].append(name)
        else:
            groups[HEAD].append(name)
    return [(g, names) for g, names in groups.items() if names]
