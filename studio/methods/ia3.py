"""(IA)³ (Liu et al., 2022, T-Few): learned vectors rescaling keys, values and feed-forward activations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt
from studio.methods.limits import short_run_limit
from studio.methods.lora import merge, task_type
from studio.methods.registry import Method, register

# Families peft's mapping lacks or gets wrong. BERT-likes: peft's suffix "output.dense" also hits
# attention.output.dense, whose input scaling only repeats the value scaling; the paper's l_ff
# rescales the FFN's hidden activation, i.e. the input of layer.N.output.dense. Regexes (full match).
_BERT_LIKE = (r".*\.(key|value)|.*\.layer\.\d+\.output\.dense", r".*\.layer\.\d+\.output\.dense")
_OVERRIDES: dict[str, tuple[Any, Any]] = {
    "bert": _BERT_LIKE, "roberta": _BERT_LIKE, "xlm-roberta": _BERT_LIKE,
    "distilbert": (["k_lin", "v_lin", "lin2"], ["lin2"]),
    "phi3": (["qkv_proj", "down_proj"], ["down_proj"]),
}


@dataclass
class Ia3Options:
    """(IA)³ settings; by default the paper's placement for the model family."""

    target_modules: list[str] | None = opt(
        None, "Module names to rescale; default: keys, values and the feed-forward down projection")
    feedforward_modules: list[str] | None = opt(
        None, "Which target_modules are feed-forward layers (rescaled at their input); "
        "only with target_modules")

    def __post_init__(self) -> None:
        if self.feedforward_modules is not None:
            if self.target_modules is None:
                raise ConfigError("needs target_modules as well", "feedforward_modules")
            extra = sorted(set(self.feedforward_modules) - set(self.target_modules))
            if extra:
                raise ConfigError(f"not in target_modules: {', '.join(extra)}", "feedforward_modules")


def modules_for(model: Any, opts: Ia3Options) -> tuple[Any, Any]:
    """(target_modules, feedforward_modules) for this model: the options, ours, or peft's mapping."""
    from peft.utils import (TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING as FEEDFORWARD,
                            TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING as TARGETS)

    if opts.target_modules is not None:
        return list(opts.target_modules), list(opts.feedforward_modules or [])
    model_type = model.config.model_type
    if model_type in _OVERRIDES:
        return _OVERRIDES[model_type]
    if model_type in TARGETS and model_type in FEEDFORWARD:
        return list(TARGETS[model_type]), list(FEEDFORWARD[model_type])
    raise ConfigError(f"no default (IA)³ placement for model type {model_type!r}; set target_modules "
                      "(keys, values, FFN down projection) and feedforward_modules", "method.target_modules")


def apply(model: Any, opts: Ia3Options, task: str) -> Any:
    """Wrap the model so only the rescaling vectors (and a classifier head) train."""
    from peft import IA3Config, get_peft_model

    targets, feedforward = modules_for(model, opts)
    config = IA3Config(target_modules=targets, feedforward_modules=feedforward,
                       task_type=task_type(task), init_ia3_weights=True)
    return get_peft_model(model, config)


METHOD = register(Method(
    name="ia3",
    learning_rate=3e-3,
    options=Ia3Options,
    apply=apply,
    mergeable=True,
    peft_native=True,
    merge=merge,
    description=(
        "(IA)³ learns one vector per adapted layer that multiplies activations elementwise: l_k and "
        "l_v rescale the attention keys and values, l_ff the feed-forward hidden activation. "
        "Trainable parameters: d_out per attention target plus d_ff per feed-forward layer, about "
        "L·(2·d_kv + d_ff) in all, far fewer than LoRA. The vectors start at 1, so training starts "
        "from the base, and they merge into the weights. Choose it for few-shot data or when many "
        "tiny adapters must be stored; it is less expressive than LoRA."
    ) + short_run_limit("ia3"),
))
