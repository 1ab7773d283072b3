"""How the Method step groups the methods, and which one it recommends for a model and task (no Qt)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Display order: what most users should pick first, then the older adapter family, then the
# prompt-based methods, then the baselines that train a part (or all) of the model itself.
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Recommended", "Low-rank updates that merge back into the model", ("lora", "qlora", "dora")),
    ("Classic adapters", "Small modules inserted into every block, kept beside the model",
     ("houlsby", "pfeiffer", "compacter", "ia3")),
    ("Prompt-based", "Learned virtual tokens; the model itself stays untouched", ("prefix", "prompt")),
    ("Selective & full", "Train a chosen part of the model's own weights, or all of them",
     ("bitfit", "top_k", "full")),
)
OTHER = ("Other", "Methods added since this list was written", ())
MEMORY_HEADROOM = 0.8  # LoRA's estimate above this share of the machine's memory: recommend QLoRA


@dataclass(frozen=True)
class Recommendation:
    """The method to mark as the default, and why, in words for the card."""

    method: str
    why: str


def grouped(names: list[str]) -> list[tuple[str, str, list[str]]]:
    """(title, subtitle, method names) in display order; methods no group names go to 'Other'."""
    known = {n for _, _, members in GROUPS for n in members}
    out = [(title, sub, [n for n in members if n in names]) for title, sub, members in GROUPS]
    rest = [n for n in names if n not in known]
    if rest:
        out.append((OTHER[0], OTHER[1], rest))
    return [g for g in out if g[2]]


def recommend(task: str, lora_bytes: int | None, memory_bytes: int | None) -> Recommendation:
    """LoRA, or QLoRA for a language model whose LoRA run would not fit the machine's memory.

    Why LoRA: on this project's own methods bench it is within 0.5 points of full fine-tuning with
    0.3 % of the parameters, trains at full speed and merges into the base (no inference cost);
    Houlsby matches its accuracy with 8x the parameters and more time per step. Why QLoRA only when
    memory is tight: its 4-bit base costs quantization error and (off CUDA) a lot of speed."""
    if (task != "classification" and lora_bytes and memory_bytes
            and lora_bytes > MEMORY_HEADROOM * memory_bytes):
        return Recommendation("qlora", f"LoRA's estimate ({lora_bytes / 2**30:.1f} GiB) exceeds "
                                       f"{MEMORY_HEADROOM:.0%} of this machine's {memory_bytes / 2**30:.1f} GiB; "
                                       "QLoRA keeps the base in 4 bits")
    if task == "classification":
        return Recommendation("lora", "for classification: as accurate as full fine-tuning on the "
                                      "methods bench with 0.3 % of the parameters, and mergeable")
    return Recommendation("lora", "the default for language models: small, fast and mergeable")


def summary(info: dict[str, Any]) -> str:
    """A card's one-liner: the description's first sentence (the details keep the rest)."""
    text = info.get("description") or ""
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def formula(info: dict[str, Any]) -> str:
    """The 'Trainable parameters: …' sentence of a description, if it has one."""
    match = re.search(r"Trainable parameters:[^.]*(\.[^ ][^.]*)*\.", info.get("description") or "")
    return match.group(0) if match else ""
