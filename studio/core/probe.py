"""A cheap, exact parameter probe: the model is built on the meta device (no weights read, no
memory used), the method applied, and its trainable / total parameters counted before training."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.config import RunConfig

# Bytes per stored weight by how the base is held during training.
_WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "nf4": 0.5, "fp4": 0.5}


def probe(cfg: RunConfig, label_names: list[str] | None = None) -> dict[str, Any]:
    """Trainable/total parameters, layer groups and a memory estimate for `cfg`, without weights."""
    import warnings

    import torch
    import transformers

    from studio import methods
    from studio.core.models import count_parameters
    from studio.methods.layers import layer_groups

    transformers.utils.logging.set_verbosity_error()
    config = model_config(cfg.model, cfg.trust_remote_code)
    if cfg.task == "classification":
        labels = list(label_names or [])
        config.num_labels = len(labels)
        config.id2label, config.label2id = dict(enumerate(labels)), {n: i for i, n in enumerate(labels)}
    auto = (transformers.AutoModelForSequenceClassification if cfg.task == "classification"
            else transformers.AutoModelForCausalLM)
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft's notes on Conv1D etc. are not the probe's news
        model = auto.from_config(config, trust_remote_code=cfg.trust_remote_code)
        method = methods.get(cfg.method.name)
        opts = methods.parse_options(cfg.method.name, cfg.method.options)
        # A meta model cannot be quantized; QLoRA trains exactly LoRA's parameters on top of it.
        apply = methods.get("lora").apply if cfg.method.name == "qlora" else method.apply
        model = apply(model, opts, cfg.task)
    trainable, total = count_parameters(model)
    groups = [{"name": name, "params": sum(p.numel() for n, p in model.named_parameters() if n in set(ps))}
              for name, ps in layer_groups(model)]
    return {
        "model": cfg.model,
        "model_type": getattr(config, "model_type", None),
        "task": cfg.task,
        "method": cfg.method.name,
        "mergeable": method.mergeable,
        "trainable_params": trainable,
        "total_params": total,
        "trainable_percent": 100.0 * trainable / total if total else 0.0,
        "layer_groups": groups,
        "memory_estimate": memory_estimate(trainable, total, _storage(cfg, opts)),
        "description": method.describe(),
    }


def model_config(ref: str, trust_remote_code: bool = False) -> Any:
    """The model's config from its folder, hub id or GGUF header (nothing converted, no weights)."""
    from transformers import AutoConfig

    from studio.modelinfo.sources import resolve_model

    src = resolve_model(ref)
    if src.kind == "gguf":
        return AutoConfig.from_pretrained(src.path, gguf_file=src.gguf_file)
    return AutoConfig.from_pretrained(src.path, trust_remote_code=trust_remote_code)


def _storage(cfg: RunConfig, opts: Any) -> str:
    """How the frozen base weights are stored while training."""
    bits = getattr(opts, "bits", None)
    if bits == 4:
        return getattr(opts, "quant_type", "nf4")
    if bits == 8:
        return "int8"
    return "bf16" if cfg.training.precision in ("bf16", "fp16") else "fp32"


def memory_estimate(trainable: int, total: int, storage: str) -> dict[str, int]:
    """Bytes for weights, gradients and AdamW state (fp32 for trainable ones); activations excluded."""
    weights = int((total - trainable) * _WEIGHT_BYTES[storage] + trainable * 4)
    gradients, optimizer = trainable * 4, trainable * 8
    return {"weights": weights, "gradients": gradients, "optimizer": optimizer,
            "total": weights + gradients + optimizer, "base_storage": storage}  # type: ignore[dict-item]
