"""Facts of a GGUF file from its header: metadata and tensor table, read without touching the weights.

gguf's GGUFReader parses every tokenizer string into numpy arrays (about 3 s for a 135M model),
so this walks the same layout with struct over an mmap and keeps only what the model browser
shows; the value and quantization types come from the gguf package itself.
"""
from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

from gguf.constants import GGUF_MAGIC, GGMLQuantizationType, GGUFValueType

from studio.modelinfo.facts import ModelFacts, summarize

# struct format per scalar GGUF value type (little-endian files; big-endian ones are refused).
_SCALARS = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}
# llama.cpp's block tensor names → the transformers names a GGUF checkpoint is loaded back into.
GGUF_BLOCK_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_qkv": "self_attn.qkv_proj", "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
# Arrays longer than this (token lists, merges) are kept as their length only.
MAX_ARRAY_KEPT = 16


class GgufError(ValueError):
    """The file is not a GGUF file this reader understands, or its header is cut short."""


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise GgufError(f"header ends early at byte {self.pos}")
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        n = self.take("<Q")
        if self.pos + n > len(self.buf):
            raise GgufError(f"a string of {n} bytes runs past the end of the file")
        raw = self.buf[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8", "replace")

    def skip_string(self) -> None:
        n = self.take("<Q")  # read first: `self.pos += self.take()` would drop take's own advance
        self.pos += n

    def value(self, vtype: int) -> Any:
        if vtype == GGUFValueType.STRING:
            return self.string()
        if vtype == GGUFValueType.ARRAY:
            item_type, n = self.take("<I"), self.take("<Q")
            if n > MAX_ARRAY_KEPT:
                self._skip_items(item_type, n)
                return {"array_length": n}
            return [self.value(item_type) for _ in range(n)]
        try:
            return self.take(_SCALARS[GGUFValueType(vtype)])
        except (KeyError, ValueError):
            raise GgufError(f"unknown value type {vtype} at byte {self.pos}") from None

    def _skip_items(self, item_type: int, n: int) -> None:
        if item_type == GGUFValueType.STRING:
            for _ in range(n):
                self.skip_string()
        elif item_type == GGUFValueType.ARRAY:
            for _ in range(n):
                self.value(item_type)
        else:
            self.pos += n * struct.calcsize(_SCALARS[GGUFValueType(item_type)])


def read_gguf_header(path: str | Path) -> tuple[dict[str, Any], list[tuple[str, list[int], str]]]:
    """(metadata, [(tensor name, shape in PyTorch order, quantization type name)]) of a GGUF file."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        if cur.take("<I") != GGUF_MAGIC:
            raise GgufError("not a GGUF file (bad magic bytes)")
        version = cur.take("<I")
        if version not in (2, 3):
            raise GgufError(f"GGUF version {version} is not supported (2 and 3 are)")
        n_tensors, n_kv = cur.take("<Q"), cur.take("<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cur.string()
            meta[key] = cur.value(cur.take("<I"))
        tensors = []
        for _ in range(n_tensors):
            name = cur.string()
            dims = [cur.take("<Q") for _ in range(cur.take("<I"))]
            qtype, _offset = cur.take("<I"), cur.take("<Q")
            try:
                type_name = GGMLQuantizationType(qtype).name
            except ValueError:
                type_name = f"type{qtype}"
            # GGUF lists dimensions fastest-first (ne0 = input width); PyTorch lists them [out, in].
            tensors.append((name, dims[::-1], type_name))
    return meta, tensors


def gguf_facts(path: Path) -> ModelFacts:
    """Facts of a GGUF file from its header: llama.cpp metadata and the tensor table."""
    facts = ModelFacts(size_bytes=path.stat().st_size, weights_format="gguf")
    meta, tensors = read_gguf_header(path)
    arch = meta.get("general.architecture")
    facts.model_type = arch
    facts.architecture = f"{arch} (GGUF)" if arch else "GGUF"

    def get(key: str) -> Any:
        value = meta.get(f"{arch}.{key}")
        return value if isinstance(value, (int, float)) else None

    facts.layers, facts.hidden_size = get("block_count"), get("embedding_length")
    facts.intermediate_size, facts.max_positions = get("feed_forward_length"), get("context_length")
    facts.heads = get("attention.head_count")
    facts.kv_heads = get("attention.head_count_kv") or facts.heads
    facts.head_dim = get("attention.key_length") or (facts.hidden_size // facts.heads
                                                     if facts.hidden_size and facts.heads else None)
    tokens = meta.get("tokenizer.ggml.tokens")
    facts.vocab_size = get("vocab_size") or (tokens.get("array_length") if isinstance(tokens, dict) else None)
    names = {name for name, _, _ in tensors}
    facts.tie_word_embeddings = "output.weight" not in names
    summarize(facts, tensors, GGUF_BLOCK_NAMES)
    quantized = [t for t in facts.dtypes if t not in ("F32", "F16", "BF16", "F64")]
    facts.quantization = max(quantized, key=facts.dtypes.__getitem__) if quantized else None
    facts.notes.append("training loads a GGUF model dequantized (transformers' GGUF support)")
    return facts
