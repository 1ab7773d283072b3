"""A cheap, exact parameter probe: the model is built on the meta device (no weights read, no
memory used), the method applied, and its trainable / total parameters counted before training.
Its memory estimate is the Models page's (studio.modelinfo.memory) for the config's settings."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from studio.config import RunConfig
from studio.modelinfo.facts import ModelFacts


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
        "memory_estimate": config_estimate(cfg, len(label_names or []) or 2),
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


@lru_cache(maxsize=8)
def model_facts(ref: str) -> ModelFacts:
    """Header facts of a local model (a hub id not on disk gets a problem, as on the Models page)."""
    from studio.modelinfo.facts import facts_for
    from studio.modelinfo.sources import resolve_model

    src = resolve_model(ref)
    if src.kind == "hub":
        return ModelFacts(problem="the estimate needs the model's weights on this machine "
                                  "(safetensors or GGUF headers)")
    return facts_for(src.path, src.gguf_file)


def machine() -> dict[str, bool]:
    """What the estimate's device and precision depend on: CUDA, and bf16 on it."""
    import torch

    cuda = torch.cuda.is_available()
    return {"cuda": cuda, "bf16": cuda and torch.cuda.is_bf16_supported()}


def config_estimate(cfg: RunConfig, num_labels: int = 2, tokens: int | None = None,
                    packed: bool | None = None) -> dict[str, Any]:
    """The one memory estimate (studio.modelinfo.memory) of `cfg` on this machine."""
    from studio.methods.registry import option_specs
    from studio.modelinfo.run_memory import resolve_device, run_estimate

    has = machine()
    device, precision = resolve_device(cfg.training, has["cuda"], has["bf16"])
    facts = model_facts(cfg.model)
    defaults = {o["name"]: o["default"] for o in option_specs(cfg.method.name)}
    return run_estimate(facts, cfg, defaults, device=device, precision=precision, num_labels=num_labels,
                        tokens=tokens, packed=packed)
