"""Top-K layer tuning: freeze the embeddings and the lower blocks, train the top K blocks and above."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import opt
from studio.methods.layers import block_list, block_of, freeze, merged_in_place, train_classifier_head
from studio.methods.limits import short_run_limit
from studio.methods.registry import Method, register


@dataclass
class TopKOptions:
    """How many of the top transformer blocks train."""

    k: int = opt(2, "Number of top transformer blocks to train (everything above them trains too)",
                 min=1, max=1000)


def apply(model: Any, opts: TopKOptions, task: str) -> Any:
    """Train blocks L-K..L-1 plus whatever sits above the blocks (final norm, pooler, head)."""
    blocks_name, blocks = block_list(model)
    if opts.k > len(blocks):
        raise ValueError(f"method.k: {opts.k} is more than the model's {len(blocks)} blocks")
    first = len(blocks) - opts.k
    embedding_ids = {id(p) for p in model.get_input_embeddings().parameters()}
    freeze(model)
    seen_block = False
    for name, p in model.named_parameters():
        index = block_of(name, blocks_name)
        if index is not None:
            seen_block = True
            p.requires_grad_(index >= first)
        elif seen_block and id(p) not in embedding_ids:
            # Above the blocks: final norm, pooler, an untied LM head. A head tied to the input
            # embeddings stays frozen, since training it would train the bottom of the model.
            p.requires_grad_(True)
    train_classifier_head(model, task)
    return model



METHOD = register(Method(
    name="top_k",
    learning_rate=1e-4,
    options=TopKOptions,
    apply=apply,
    mergeable=True,
    merge=merged_in_place,
    description=(
        "Top-K freezes the embeddings and all but the top K transformer blocks, and trains those K "
        "blocks plus what sits above them (final norm, pooler, task head); gradients stop below "
        "block L-K. Trainable parameters: the K blocks' parameters plus the head. The cheapest "
        "baseline: no new modules, memory falls with K. Choose it when the task is close to "
        "pre-training, or as a reference for the adapter methods."
    ) + short_run_limit("top_k"),
))
