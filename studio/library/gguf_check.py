"""What a GGUF file must carry for llama.cpp and Ollama to chat with it like the original: the chat
template, the BOS/EOS ids and the end-of-turn token in the vocabulary — read with gguf.GGUFReader."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The GGUF's key/value metadata (arrays of tokens left out but counted); raises if unreadable."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    meta: dict[str, Any] = {}
    for field in reader.fields.values():
        if field.name in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores",
                          "tokenizer.ggml.merges"):
            meta[field.name + ".count"] = len(field.data)
            if field.name == "tokenizer.ggml.tokens":
                meta["_tokens"] = field.contents()
            continue
        meta[field.name] = field.contents()
    meta["_tensor_types"] = sorted({t.tensor_type.name for t in reader.tensors})
    return meta


def metadata_problems(path: Path, tokenizer: Any) -> list[str]:
    """Differences between the GGUF's tokenizer metadata and the model's tokenizer ([] when they agree)."""
    try:
        meta = read_metadata(path)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file fails in many ways
        return [f"unreadable GGUF: {type(e).__name__}: {e}"]
    problems = []
    template = getattr(tokenizer, "chat_template", None)
    written = meta.get("tokenizer.chat_template")
    if template and not written:
        problems.append("the chat template is missing from the GGUF metadata")
    elif template and written != template:
        problems.append("the GGUF's chat template differs from the model's")
    for kind in ("bos", "eos"):
        want = getattr(tokenizer, f"{kind}_token_id", None)
        got = meta.get(f"tokenizer.ggml.{kind}_token_id")
        if want is not None and got is not None and int(got) != int(want):
            problems.append(f"{kind.upper()} token id is {got} in the GGUF, {want} in the model")
        elif want is not None and got is None and kind == "eos":
            problems.append("the GGUF names no EOS token: generation would not stop")
    tokens = meta.get("_tokens") or []
    eos = getattr(tokenizer, "eos_token", None)
    if eos and tokens and eos not in tokens:
        problems.append(f"the end-of-turn token {eos!r} is not in the GGUF's vocabulary")
    return problems


def tokenizer_agreement(path: Path, tokenizer: Any, prompts: list[str]) -> float | None:
    """Share of prompts that transformers' GGUF tokenizer encodes to the same ids as the model's
    (recorded, not judged: transformers rebuilds a GGUF tokenizer approximately)."""
    try:
        from transformers import AutoTokenizer

        rebuilt = AutoTokenizer.from_pretrained(str(Path(path).parent), gguf_file=Path(path).name)
    except Exception:  # noqa: BLE001 - some vocab types have no transformers rebuild
        return None
    same = sum(rebuilt(p, add_special_tokens=False)["input_ids"] == tokenizer(p, add_special_tokens=False)["input_ids"]
               for p in prompts)
    return same / len(prompts) if prompts else None


def special_tokens(meta: dict[str, Any]) -> dict[str, str]:
    """{'bos': text, 'eos': text, ...} of the GGUF's special-token ids."""
    tokens = meta.get("_tokens") or []
    out = {}
    for kind in ("bos", "eos", "eot", "eom", "pad", "unk"):
        idx = meta.get(f"tokenizer.ggml.{kind}_token_id")
        if idx is not None and 0 <= int(idx) < len(tokens):
            out[kind] = tokens[int(idx)]
    return out
