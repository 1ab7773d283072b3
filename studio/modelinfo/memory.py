"""Training memory per method, from a model's facts alone: closed-form trainable-parameter counts
(the same formulas the methods describe) plus weights, optimizer state, activations and overhead.

A pure function with no torch: the model browser recomputes it on every spin-box change. The
methods' default options come from the caller (the GUI asks `studio methods --json` once), so
the numbers here never drift from the method modules.
"""
from __future__ import annotations

import math
from typing import Any

from studio.methods import prefix_defaults
from studio.methods.norm_defaults import layer_norms_train
from studio.methods.targets import target_modules
from studio.modelinfo.facts import ModelFacts

MB = 2**20
BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0}
STATE_BYTES = 16          # per trainable parameter: fp32 weight, fp32 gradient, Adam m and v
ACTIVATION_BYTES = 34     # per token, hidden unit and layer with 16-bit activations (Korthikanti et al.)
# Per token and vocabulary entry at the backward's start (the fp32 logits themselves are freed by then).
LOGIT_BYTES = 12
CUDA_OVERHEAD = 500 * MB  # CUDA context, cuBLAS workspace and allocator slack
# Bytes per weight of a bitsandbytes 4-bit linear layer: 0.5 for the values plus the block
# constants (one per 64 weights: fp32 = 0.0625 B, or 8-bit + fp32 per 256 blocks with double quant).
NF4_BYTES = {True: 0.5 + 1 / 64 + 4 / (64 * 256), False: 0.5 + 4 / 64}
# (IA)³ placement per family: attention targets (rescaled at their output) and the feed-forward
# target (rescaled at its input); studio/methods/ia3.py and peft's mapping.
IA3_TARGETS = {
    "gpt2": (["c_attn"], "mlp.c_proj"), "gpt_bigcode": (["c_attn"], "mlp.c_proj"),
    "llama": (["k_proj", "v_proj"], "down_proj"), "mistral": (["k_proj", "v_proj"], "down_proj"),
    "qwen2": (["q_proj", "v_proj"], "down_proj"), "qwen3": (["q_proj", "v_proj"], "down_proj"),
    "gemma": (["q_proj", "v_proj"], "down_proj"), "gemma2": (["q_proj", "v_proj"], "down_proj"),
    "phi": (["q_proj", "v_proj"], "fc2"), "phi3": (["qkv_proj"], "down_proj"),
    "bert": (["key", "value"], "^output.dense"), "roberta": (["key", "value"], "^output.dense"),
    "xlm-roberta": (["key", "value"], "^output.dense"), "distilbert": (["k_lin", "v_lin"], "lin2"),
    "gpt_neox": (["query_key_value"], "dense_4h_to_h"), "falcon": (["query_key_value"], "dense_4h_to_h"),
    "bloom": (["query_key_value"], "mlp.dense_4h_to_h"), "opt": (["q_proj", "k_proj"], "fc2"),
}
PEFT_NATIVE = {"lora", "dora", "qlora", "ia3", "prefix", "prompt"}
ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta", "deberta-v2"}


class NotApplicable(ValueError):
    """The method cannot be used with this model (the reason is shown instead of numbers)."""


def _matches(rel_module: str, target: str) -> bool:
    """peft's rule (the name or a dotted suffix); '^name' means exactly the name within the block."""
    if target.startswith("^"):
        return rel_module == target[1:]
    return rel_module == target or rel_module.endswith("." + target)


def _linears(facts: ModelFacts) -> dict[str, list[int]]:
    """Block 0's linear weights: module name → [out, in]."""
    return {n.rpartition(".")[0]: s for n, s in facts.block0.items() if len(s) == 2 and n.endswith(".weight")}


def _targets(facts: ModelFacts, names: list[str]) -> list[list[int]]:
    return [s for m, s in _linears(facts).items() if any(_matches(m, t) for t in names)]


def lora_params(facts: ModelFacts, opts: dict[str, Any], dora: bool = False) -> tuple[int, str]:
    """LoRA (DoRA) parameters: r·(d_in + d_out) (+ d_out) per adapted matrix, and the formula text."""
    r, L = int(opts["r"]), facts.layers or 0
    names = opts.get("target_modules") or target_modules(facts.model_type or "", opts.get("targets", "qv"))
    if names == "all-linear":
        shapes = list(_linears(facts).values()) * L + list(facts.extra_linears.values())
        where = "every linear layer but the head"
    else:
        shapes = _targets(facts, list(names)) * L
        where = ", ".join(names)
    if not shapes:
        raise NotApplicable(f"none of the target modules ({where}) is in this model's blocks")
    n = sum(r * (o + i) + (o if dora else 0) for o, i in shapes)
    return n, f"r·(d_in + d_out){' + d_out' if dora else ''} over {len(shapes)} matrices ({where}), r = {r}"


def ia3_params(facts: ModelFacts, opts: dict[str, Any]) -> tuple[int, str]:
    """(IA)³: d_out per attention target plus d_in per feed-forward target, per block."""
    if opts.get("target_modules"):
        ff = set(opts.get("feedforward_modules") or [])
        attn, ffn = [t for t in opts["target_modules"] if t not in ff], list(ff)
    elif facts.model_type in IA3_TARGETS:
        attn, ff_name = IA3_TARGETS[facts.model_type]
        ffn = [ff_name]
    else:
        raise NotApplicable(f"no default (IA)³ placement for model type {facts.model_type!r}")
    per_block = sum(o for o, _ in _targets(facts, attn)) + sum(i for _, i in _targets(facts, ffn))
    return (facts.layers or 0) * per_block, f"L·(Σ d_out of {', '.join(attn)} + d_in of {', '.join(ffn)})"


def adapter_params(facts: ModelFacts, size: int, per_block: int, train_norms: bool,
                   n: int | None = None, rank: int | None = None) -> tuple[int, str]:
    """Bottleneck adapters (Houlsby/Pfeiffer, or Compacter's PHM ones with n) after block outputs."""
    d, L = facts.hidden_size or 0, facts.layers or 0
    if n is None:
        one, text = 2 * d * size + size + d, "2·d·a + a + d"
    elif d % n or size % n:
        raise NotApplicable(f"n={n} must divide both the hidden size d={d} and the bottleneck size={size}")
    elif rank is None:
        one, text = 2 * d * size // n + size + d, "2·d·a/n + a + d"
    else:
        one, text = 2 * rank * (d + size) + size + d, "2·r·(d + a) + a + d"
    total = L * per_block * one + (n ** 3 if n else 0) + (facts.block_norm_params or 0 if train_norms else 0)
    text = f"{per_block}·L·({text}), a = {size}" + (f", n = {n} (+ n³ shared)" if n else "")
    return total, text + (" + the blocks' norms" if train_norms else "")


def trainable(facts: ModelFacts, method: str, opts: dict[str, Any]) -> tuple[int, int, str]:
    """(trainable parameters, parameters the method adds to the model, formula) before any task head."""
    d, L = facts.hidden_size or 0, facts.layers or 0
    if method in ("lora", "dora", "qlora"):
        n, text = lora_params(facts, opts, dora=method == "dora")
        return n, n, text
    if method == "ia3":
        n, text = ia3_params(facts, opts)
        return n, n, text
    if method == "prefix":
        v, d_kv = int(opts["num_virtual_tokens"]), (facts.head_dim or 0) * (facts.kv_heads or 0) or d
        if opts.get("prefix_projection"):
            h = int(opts["encoder_hidden_size"])
            n = v * d_kv + (d_kv + 1) * h + (h + 1) * 2 * L * d_kv
            return n, n, f"n·d_kv + (d_kv + 1)·h + (h + 1)·2·L·d_kv (training MLP), n = {v}, h = {h}"
        return v * 2 * L * d_kv, v * 2 * L * d_kv, f"n·2·L·d_kv, n = {v}, d_kv = {d_kv}"
    if method == "prompt":
        v = int(opts["num_virtual_tokens"])
        return v * d, v * d, f"n·d, n = {v}"
    if method in ("houlsby", "pfeiffer"):
        norms = bool(opts.get("train_layer_norms"))
        n, text = adapter_params(facts, int(opts["size"]), 2 if method == "houlsby" else 1, norms)
        return n, n - (facts.block_norm_params or 0 if norms else 0), text
    if method == "compacter":
        houlsby = opts.get("placement", "houlsby") == "houlsby"
        norms = opts.get("train_layer_norms")
        norms = houlsby if norms is None else bool(norms)
        n, text = adapter_params(facts, int(opts["size"]), 2 if houlsby else 1, norms,
                                 n=int(opts["n"]), rank=opts.get("phm_rank"))
        return n, n - (facts.block_norm_params or 0 if norms else 0), text
    if method == "bitfit":
        if not facts.block_bias_params:
            raise NotApplicable(f"the {facts.model_type} model has no bias terms in its layers")
        return facts.bias_params or 0, 0, "every bias term"
    if method == "top_k":
        k = int(opts["k"])
        if k > L:
            raise NotApplicable(f"k = {k} is more than the model's {L} blocks")
        return (facts.blocks_params or 0) * k // L + (facts.above_params or 0), 0, \
            f"the top {k} of {L} blocks + what sits above them"
    if method == "full":
        return facts.params or 0, 0, "every parameter"
    raise NotApplicable(f"unknown method {method!r}")


# Encoder families: the studio fine-tunes them as sequence classifiers (they cannot generate).
ENCODERS = {"bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra", "deberta", "deberta-v2",
            "mpnet", "camembert"}


def task_of(facts: ModelFacts) -> str:
    """The task to estimate for: classification for *ForSequenceClassification heads and encoders."""
    arch = facts.architecture or ""
    if arch.endswith("ForSequenceClassification") or facts.head_params or facts.model_type in ENCODERS:
        return "classification"
    return "causal-lm"


def head(facts: ModelFacts, task: str, num_labels: int) -> tuple[int, int]:
    """(classifier head parameters, parameters of the base model with that head instead of an LM head)."""
    base = facts.params or 0
    if task != "classification":
        return 0, base
    if facts.head_params:
        return facts.head_params, base
    h = num_labels * (facts.hidden_size or 0) + (num_labels if facts.model_type in ENCODER_TYPES else 0)
    return h, base - (facts.lm_head_params or 0) + h


def estimate(facts: ModelFacts, method: str, batch_size: int, seq_len: int, precision: str,
             options: dict[str, Any] | None = None, task: str | None = None, num_labels: int = 2, *,
             device: str = "cuda", checkpoint_every: int | None = None, offload: bool = False,
             packed: bool = False, tokens: int | None = None, preference: str | None = None) -> dict[str, Any]:
    """Bytes to train `method` on this model: weights, trainable state, activations, overhead, and why.

    preference: task preference's loss (dpo, kto, orpo; default dpo): pairs double the tokens, and
    DPO/KTO's reference adds a frozen copy for full fine-tuning (core/preference_reference.py).

    tokens: the tokens of one micro-batch when known (the longest rows, padded or packed); else the
    bound batch_size·seq_len. checkpoint_every: transformers' every_n_layers (1 = every block)."""
    opts = dict(options or {})
    task = task or task_of(facts)
    if method == "prefix":  # empty prefix options follow the task (methods/prefix_defaults.py)
        opts = prefix_defaults.resolved(opts, task)
    if method == "pfeiffer":  # an empty train_layer_norms follows the task too (methods/norm_defaults.py)
        opts["train_layer_norms"] = layer_norms_train(opts.get("train_layer_norms"), task)
    out: dict[str, Any] = {"method": method, "task": task, "problem": None}
    if not facts.params or not facts.hidden_size or not facts.layers:
        out["problem"] = "needs the parameter count, hidden size and layers (safetensors or GGUF weights)"
        return out
    try:
        t, added, formula = trainable(facts, method, opts)
    except NotApplicable as e:
        out["problem"] = f"not applicable: {e}"
        return out
    except (KeyError, TypeError, ValueError) as e:
        out["problem"] = f"option missing or invalid: {e}"
        return out
    h, base = head(facts, task, num_labels)
    if method == "top_k" and task == "classification" and not facts.head_params:
        t += h - (facts.lm_head_params or 0)  # the new head replaces an LM head above the blocks
    elif method == "full":
        t = base
    elif method not in ("top_k",):
        t += h
    if method in PEFT_NATIVE and task == "classification":
        added += h  # peft trains a copy of the head (modules_to_save); the original stays, frozen
    total = base + added
    wbytes, notes = BYTES.get(precision, 4.0), []
    if method == "qlora":
        linear = sum(o * i for o, i in _linears(facts).values()) * facts.layers + \
            sum(o * i for o, i in facts.extra_linears.values())
        qbytes = 1.0 if int(opts.get("bits", 4)) == 8 else NF4_BYTES[bool(opts.get("double_quant", True))]
        weights = linear * qbytes + (total - t - linear) * 4.0
        notes.append(f"QLoRA: the blocks' linear weights at {qbytes:.3f} bytes each ("
                     + ("8-bit" if qbytes == 1.0 else "4-bit values + block constants")
                     + "), everything else frozen in fp32 as peft's k-bit preparation casts it")
    else:
        weights = (total - t) * wbytes
        notes.append(f"frozen weights in {precision} ({wbytes:g} bytes each)")
    if task == "preference" and (preference or "dpo") != "orpo":
        weights += _reference_bytes(method, base, t, wbytes, notes)
    state = STATE_BYTES * t
    notes.append(f"{STATE_BYTES} bytes per trainable parameter: fp32 weight, gradient, Adam m and v")
    if checkpoint_every is None and opts.get("gradient_checkpointing"):
        checkpoint_every = 1  # QLoRA's own option: peft's k-bit preparation turns it on
    activations = _activations(facts, method, opts, task, batch_size, seq_len, precision, notes,
                               checkpoint_every=checkpoint_every, offload=offload and device == "cuda",
                               packed=packed, tokens=tokens, preference=preference)
    overhead = CUDA_OVERHEAD if device == "cuda" else 0
    notes.append(f"{CUDA_OVERHEAD // MB} MiB for the CUDA context, kernels workspace and allocator slack"
                 if overhead else "on the CPU: no CUDA context; the measured figure is the process's RSS growth")
    out.update({
        "trainable_params": int(t), "total_params": int(total), "formula": formula,
        "trainable_percent": 100.0 * t / total if total else 0.0,
        "weights_bytes": int(weights), "trainable_state_bytes": int(state),
        "activation_bytes": int(activations), "overhead_bytes": overhead, "device": device,
    })
    out["total_bytes"] = out["weights_bytes"] + state + out["activation_bytes"] + overhead
    out["assumptions"] = notes
    return out


def _activations(facts: ModelFacts, method: str, opts: dict[str, Any], task: str, batch_size: int,
                 seq_len: int, precision: str, notes: list[str], *, checkpoint_every: int | None,
                 offload: bool, packed: bool, tokens: int | None, preference: str | None = None) -> float:
    """Bytes kept for the backward pass: per block, per token, the logits, under checkpointing."""
    d, L, V = facts.hidden_size or 0, facts.layers or 0, facts.vocab_size or 0
    virtual = int(opts.get("num_virtual_tokens", 0)) * batch_size if method == "prompt" else 0
    if tokens is None:
        tokens = batch_size * seq_len
        notes.append(f"{tokens:,} tokens per micro-batch, the bound batch·max_length = {batch_size}·{seq_len} ("
                     + ("packed batches hold no pad tokens, so real ones are fewer)" if packed else
                        "a batch is padded only to its longest row, so real ones may be fewer)"))
    else:
        notes.append(f"{tokens:,} tokens per micro-batch, counted on the longest rows ("
                     + ("packed: no pad tokens)" if packed else "padded to the longest of them)"))
    if task == "preference":
        tokens *= 2  # TRL runs chosen and rejected (KTO: the answer and its KL pair) in one batch
        notes.append("preference tuning: twice the tokens, both answers of each pair in one batch")
    tokens += virtual
    sixteen = precision in ("bf16", "fp16")
    per_layer = ACTIVATION_BYTES * (1 if sixteen else 2)
    stored = min(int(opts.get("k", L)), L) if method == "top_k" else L
    if checkpoint_every:
        # transformers checkpoints blocks 0, K, 2K, ...: those keep only their input, the others keep
        # everything; backward recomputes one checkpointed block at a time on top.
        ckpt = math.ceil(stored / checkpoint_every)
        kept_inputs = 0 if offload else ckpt * (2 if sixteen else 4)
        per_token = (stored - ckpt) * per_layer + kept_inputs + per_layer
        notes.append(f"activation checkpointing of every {checkpoint_every} block(s): {ckpt} of {stored} blocks "
                     "keep only their input" + (" (offloaded to CPU memory)" if offload else "")
                     + ", the rest all activations, plus one block recomputed in the backward pass")
    else:
        per_token = stored * per_layer
        notes.append(f"activations ≈ tokens·d·layers·{per_layer} bytes ({ACTIVATION_BYTES} with 16-bit "
                     "activations, Korthikanti et al. 2022, without the s² attention scores that SDPA/"
                     "flash attention do not store; doubled for fp32)"
                     + (f"; only the top {stored} blocks keep activations" if method == "top_k" else ""))
    activations = tokens * d * per_token
    if V and (task == "causal-lm" or (task == "preference" and preference == "orpo")):
        activations += tokens * V * LOGIT_BYTES
        notes.append(f"the loss over the vocabulary: tokens·vocab·{LOGIT_BYTES} bytes (fp32 log-probabilities "
                     "kept by cross-entropy, their gradient and the logits' gradient as the backward starts)")
    return activations


def _reference_bytes(method: str, base: int, trained: int, wbytes: float, notes: list[str]) -> float:
    """DPO/KTO's reference model: the base with the method switched off, never a second model but
    for full fine-tuning (a frozen copy); methods that train base tensors in place keep their originals."""
    if method == "full":
        notes.append("DPO/KTO with full fine-tuning: a frozen copy of the model is the reference (twice the weights)")
        return base * wbytes
    if method in ("bitfit", "top_k"):
        notes.append("DPO/KTO reference: the trained tensors' original values are kept to switch the method off")
        return trained * wbytes
    notes.append("DPO/KTO reference: the base with the adapter switched off (no second copy)")
    return 0.0


def format_memory(n: float | None) -> str:
    """Memory in binary units as nvidia-smi counts it: '12 KiB', '512 MiB', '4.50 GiB' (one formatter)."""
    if n is None:
        return ""
    if n >= 2**30:
        return f"{n / 2**30:.2f} GiB"
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def estimate_all(facts: ModelFacts, defaults: dict[str, dict[str, Any]], batch_size: int, seq_len: int,
                 precision: str, task: str | None = None, num_labels: int = 2,
                 **settings: Any) -> list[dict[str, Any]]:
    """estimate() for every method in `defaults` (method name → its default options), by name."""
    return [estimate(facts, m, batch_size, seq_len, precision, opts, task, num_labels, **settings)
            for m, opts in sorted(defaults.items())]
