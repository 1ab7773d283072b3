"""Facts of one local model — config.json plus safetensors headers, or a GGUF header — with no
weights read: architecture, exact parameter count, dtype, layers, widths, size on disk.

Anything wrong with the files becomes `problem` text on the facts, never an exception: the GUI
lists whatever it finds.
"""
from __future__ import annotations

import json
import math
import os
import re
import struct
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

INDEX_FILE = "model.safetensors.index.json"
# A safetensors header is JSON; anything this big is a corrupt length, not a header.
MAX_HEADER_BYTES = 100 * 2**20
# prefix (whole dotted components), the first all-digit component, the rest: "model.layers." 3 "mlp..."
_FIRST_INDEX = re.compile(r"^((?:[^.]+\.)*?)(\d+)\.(.+)$")
# Buffers some checkpoints store next to the weights: not parameters of the model.
_BUFFER_SUFFIXES = ("position_ids", "inv_freq", "masked_bias", "_float_tensor")
# Families whose linear layers are transformers' Conv1D, stored [in, out] instead of [out, in].
CONV1D_TYPES = {"gpt2", "openai-gpt"}
_EMBEDDING_PARTS = ("embed", "wte", "wpe", "token_embd", "position_embd", "token_types")
# Architecture class suffixes whose models end in a token-predicting head (the one that can be tied).
LM_HEAD_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForMaskedLM", "ForConditionalGeneration", "ForPreTraining")
HEAD_MODULES = ("lm_head", "embed_out", "output", "classifier", "score")


@dataclass
class ModelFacts:
    """What the model browser shows of one model, and what the memory estimate needs."""

    architecture: str | None = None
    model_type: str | None = None
    layers: int | None = None
    hidden_size: int | None = None
    vocab_size: int | None = None
    intermediate_size: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    tie_word_embeddings: bool | None = None
    lm_head: bool | None = None        # the architecture predicts tokens (None: no architecture named)
    max_positions: int | None = None
    params: int | None = None          # exact, tied weights counted once; None when unreadable
    dtype: str | None = None           # the dtype holding most parameters (BF16, F32, Q4_1 ...)
    dtypes: dict[str, int] = field(default_factory=dict)  # parameters per stored dtype
    quantization: str | None = None    # GGUF type or config quantization_config.quant_method
    size_bytes: int | None = None
    weights_format: str | None = None  # safetensors | gguf | bin
    # Sums over the stored tensors, for the methods' parameter formulas (memory.py).
    bias_params: int | None = None         # every *.bias outside a classifier head (BitFit trains these)
    block_bias_params: int | None = None   # the biases inside the transformer blocks
    block_norm_params: int | None = None   # norms inside the blocks (adapters may train them)
    blocks_params: int | None = None       # everything inside the blocks
    above_params: int | None = None        # after the blocks: final norm, pooler, untied head
    head_params: int | None = None         # a stored classifier/score head
    lm_head_params: int | None = None      # a stored, untied language-model head
    extra_linears: dict[str, list[int]] = field(default_factory=dict)  # linears outside blocks and heads
    block0: dict[str, list[int]] = field(default_factory=dict)  # block 0's tensors, [out, in] order
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def facts_for(path: str | Path, gguf_file: str | None = None) -> ModelFacts:
    """Facts of a model folder or a .gguf file (gguf_file: a file inside the folder path)."""
    path = Path(path)
    if gguf_file:
        path = path / gguf_file
    try:
        if path.is_file() and path.suffix.lower() == ".gguf":
            from studio.modelinfo.gguf_header import gguf_facts  # it imports this module

            return gguf_facts(path)
        return folder_facts(path)
    except Exception as e:  # a browser lists broken models with a reason instead of failing
        return ModelFacts(problem=f"{path}: {type(e).__name__}: {e}")


def folder_facts(folder: Path) -> ModelFacts:
    """Facts of a transformers model folder: config.json and its safetensors headers."""
    facts = ModelFacts(size_bytes=folder_size(folder))
    config_path = folder / "config.json"
    if not config_path.is_file():
        facts.problem = f"{folder}: no config.json (not a transformers model folder)"
        return facts
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (ValueError, OSError) as e:
        facts.problem = f"{config_path}: unreadable ({e})"
        return facts
    apply_config(facts, config)
    try:
        tensors = safetensors_tensors(folder)
    except ValueError as e:
        facts.problem = str(e)
        return facts
    if tensors:
        facts.weights_format = "safetensors"
        summarize(facts, tensors)
    elif list(folder.glob("*.bin")) or list(folder.glob("*.pt")):
        facts.weights_format = "bin"
        facts.notes.append("weights are pickled .bin files: no parameter count without loading them")
    else:
        facts.notes.append("no weight files in the folder (config only)")
    return facts


def apply_config(facts: ModelFacts, config: dict[str, Any]) -> None:
    """Fill the architecture facts from a config.json dict (text_config for multimodal models)."""
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}

    def pick(*keys: str) -> Any:
        for source in (config, text):
            for k in keys:
                if source.get(k) is not None:
                    return source[k]
        return None

    archs = config.get("architectures") or []
    facts.architecture = archs[0] if archs else None
    facts.model_type = config.get("model_type")
    facts.layers = pick("num_hidden_layers", "n_layer", "num_layers", "n_layers")
    facts.hidden_size = pick("hidden_size", "n_embd", "d_model", "dim")
    facts.vocab_size = pick("vocab_size")
    facts.heads = pick("num_attention_heads", "n_head", "num_heads")
    facts.kv_heads = pick("num_key_value_heads", "n_head_kv") or facts.heads
    facts.head_dim = pick("head_dim") or (facts.hidden_size // facts.heads
                                          if facts.hidden_size and facts.heads else None)
    facts.intermediate_size = pick("intermediate_size", "n_inner", "ffn_dim", "hidden_dim")
    if facts.intermediate_size is None and facts.model_type in CONV1D_TYPES and facts.hidden_size:
        facts.intermediate_size = 4 * facts.hidden_size  # GPT-2's n_inner = None means 4·d
    facts.tie_word_embeddings = pick("tie_word_embeddings")
    facts.lm_head = has_lm_head(facts.architecture)
    if facts.tie_word_embeddings is None and facts.lm_head is False:
        facts.tie_word_embeddings = False  # nothing to tie: an encoder without an LM head (BertModel)
    facts.max_positions = pick("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len")
    quant = config.get("quantization_config")
    if isinstance(quant, dict):
        facts.quantization = quant.get("quant_method") or "quantized"


def has_lm_head(architecture: str | None) -> bool | None:
    """Whether an architecture class predicts tokens (…ForCausalLM, …ForMaskedLM ...); None if unnamed."""
    if not architecture:
        return None
    return architecture.endswith(LM_HEAD_SUFFIXES)


def safetensors_tensors(folder: Path) -> list[tuple[str, list[int], str]]:
    """(name, shape, dtype) of every tensor in the folder's safetensors (the index's shards if any)."""
    index = folder / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise ValueError(f"{index}: unreadable shard index ({e})") from None
        files = [folder / name for name in sorted(set(weight_map.values()))]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ValueError(f"{index}: shards missing from the folder: {', '.join(missing)}")
    else:
        files = sorted(p for p in folder.glob("*.safetensors") if not p.name.startswith("adapter_"))
    seen: dict[str, tuple[str, list[int], str]] = {}
    for f in files:
        for name, entry in read_safetensors_header(f).items():
            seen.setdefault(name, (name, list(entry["shape"]), str(entry["dtype"])))
    return list(seen.values())


def read_safetensors_header(path: Path) -> dict[str, dict[str, Any]]:
    """The JSON header of a .safetensors file (8-byte little-endian length, then JSON), minus metadata."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path}: corrupt safetensors header (file shorter than 8 bytes)")
        n = struct.unpack("<Q", raw)[0]
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"{path}: corrupt safetensors header (length {n} does not fit the file)")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise ValueError(f"{path}: corrupt safetensors header (not JSON: {e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: corrupt safetensors header (not a JSON object)")
    header.pop("__metadata__", None)
    for name, entry in header.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("shape"), list) and "dtype" in entry):
            raise ValueError(f"{path}: corrupt safetensors header (tensor {name!r} has no shape/dtype)")
    return header


def summarize(facts: ModelFacts, tensors: list[tuple[str, list[int], str]],
              block_names: dict[str, str] | None = None) -> None:
    """Parameter count, dtypes and the per-part sums from (name, shape, dtype) triples; block_names
    renames block modules to transformers' names (GGUF)."""
    params = [(n, s, d) for n, s, d in tensors if not _is_buffer(n, s, d)]
    shapes = {n: s for n, s, _ in params}
    counts = {n: math.prod(s) for n, s in shapes.items()}
    embeds = {n for n in counts if any(p in _module(n) for p in _EMBEDDING_PARTS)}
    if facts.tie_word_embeddings:  # both copies stored: the tied head is the embedding, as in torch
        embed_shapes = {tuple(shapes[n]) for n in embeds}
        for n in [n for n in counts if _module(n) in ("lm_head", "output") and tuple(shapes[n]) in embed_shapes]:
            del counts[n]
    facts.params = sum(counts.values())
    by_dtype: Counter[str] = Counter()
    for n, _s, d in params:
        by_dtype[d] += counts.get(n, 0)
    facts.dtypes = dict(by_dtype.most_common())
    facts.dtype = next(iter(facts.dtypes), None)
    prefix, layers = _block_prefix(list(counts))
    # name → (block index, name inside the block) for every tensor in a transformer block
    in_block = {}
    for n in counts:
        m = _FIRST_INDEX.match(n)
        if prefix is not None and m and m.group(1) == prefix:
            in_block[n] = (int(m.group(2)), m.group(3))
    heads = {n for n in counts if n.split(".")[0] in ("classifier", "score")}
    facts.bias_params = sum(c for n, c in counts.items() if n.endswith(".bias") and n not in heads)
    facts.block_bias_params = sum(counts[n] for n in in_block if n.endswith(".bias"))
    facts.blocks_params = sum(counts[n] for n in in_block)
    facts.block_norm_params = sum(counts[n] for n, (_i, rel) in in_block.items()
                                  if len(shapes[n]) == 1 and _is_norm(rel))
    outside = [n for n in counts if n not in in_block and n not in embeds]
    facts.above_params = sum(counts[n] for n in outside)
    facts.head_params = sum(counts[n] for n in heads)
    facts.lm_head_params = sum(counts[n] for n in outside if _module(n) in ("lm_head", "output", "embed_out"))
    if facts.tie_word_embeddings is None and facts.lm_head and not facts.lm_head_params:
        facts.tie_word_embeddings = True  # config silent, no head weights stored: the head is the embedding
    conv1d = facts.model_type in CONV1D_TYPES
    facts.block0 = {}
    for n, (i, rel) in in_block.items():
        if i == 0:
            if block_names:
                mod, _, leaf = rel.rpartition(".")
                rel = f"{block_names.get(mod, mod)}.{leaf}"
            shape = shapes[n]
            facts.block0[rel] = shape[::-1] if conv1d and len(shape) == 2 else shape
    facts.extra_linears = {_module(n): shapes[n] for n in outside if len(shapes[n]) == 2
                           and n.endswith(".weight") and _module(n).split(".")[-1] not in HEAD_MODULES}
    if layers and facts.layers and layers != facts.layers:
        facts.notes.append(f"the weights hold {layers} blocks, the config says {facts.layers}")
    facts.layers = facts.layers or layers
    if facts.quantization and not block_names:
        facts.notes.append(f"{facts.quantization}-quantized checkpoint: the count is of stored "
                           "(packed) elements, not of the original weights")


def _module(name: str) -> str:
    """'model.layers.0.mlp.up_proj' for 'model.layers.0.mlp.up_proj.weight'."""
    return name.rpartition(".")[0]


def _is_norm(rel: str) -> bool:
    mod = rel.rpartition(".")[0].lower()
    return "norm" in mod or bool(re.search(r"(^|\.|_)ln(_|\d|$)", mod))


def _is_buffer(name: str, shape: list[int], dtype: str) -> bool:
    """Stored tensors that are not parameters: int64/bool buffers, position ids, causal masks."""
    if dtype.upper() in ("I64", "BOOL"):
        return True
    return name.endswith(_BUFFER_SUFFIXES) or (name.endswith("attn.bias") and len(shape) == 4)


def _block_prefix(names: list[str]) -> tuple[str | None, int]:
    """(prefix before the block index, number of blocks): the prefix with the most distinct indices."""
    indices: dict[str, set[int]] = {}
    for n in names:
        m = _FIRST_INDEX.match(n)
        if m:
            indices.setdefault(m.group(1), set()).add(int(m.group(2)))
    if not indices:
        return None, 0
    prefix = max(indices, key=lambda p: len(indices[p]))
    return prefix, len(indices[prefix])


def folder_size(folder: Path) -> int:
    """Bytes of every file under folder, following the HF cache's symlinks to their blobs."""
    total = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d not in (".git", ".cache")]
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass  # a dangling symlink (an incomplete download) takes no space
    return total
