"""Prompt tuning (Lester et al., 2021): a trainable soft prompt prepended to the input embeddings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt
from studio.methods.limits import short_run_limit
from studio.methods.lora import task_type
from studio.methods.registry import Method, register

INITS = ("vocab", "text", "random")


@dataclass
class PromptOptions:
    """Prompt-tuning settings; defaults follow the paper's ablations."""

    num_virtual_tokens: int = opt(20, "Soft prompt length (the paper: gains beyond 20 are marginal; its "
                                  "main runs use 100)", min=1, max=1024)
    init: str = opt("vocab", "Start from embeddings of random vocabulary tokens (vocab), of init_text "
                    "(text; the paper's best is the class labels' words) or from N(0, 1) (random)",
                    choices=INITS)
    init_text: str | None = opt(None, "Text whose token embeddings start the prompt (cut or repeated "
                                "to num_virtual_tokens); for init: text")

    def __post_init__(self) -> None:
        if self.init == "text" and not (self.init_text or "").strip():
            raise ConfigError("init 'text' needs a non-empty init_text", "init_text")


def tokenizer_path(model: Any) -> str:
    """Where the model's tokenizer lives (its name_or_path), or a ConfigError saying none was found."""
    from transformers import AutoTokenizer

    path = getattr(model, "name_or_path", "") or ""
    if not path:
        raise ConfigError("init 'text' needs the model's tokenizer, but the model has no name_or_path",
                          "method.init")
    try:
        AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"init 'text' needs the model's tokenizer; none found at {path!r} ({e})",
                          "method.init") from None
    return path


def apply(model: Any, opts: PromptOptions, task: str) -> Any:
    """Wrap the model so only the soft prompt (and a classifier head) trains."""
    from peft import PromptTuningConfig, PromptTuningInit, get_peft_model

    extra: dict[str, Any] = {"prompt_tuning_init": PromptTuningInit.SAMPLE_VOCAB}
    if opts.init == "random":
        extra = {"prompt_tuning_init": PromptTuningInit.RANDOM}
    elif opts.init == "text":
        extra = {"prompt_tuning_init": PromptTuningInit.TEXT, "prompt_tuning_init_text": opts.init_text,
                 "tokenizer_name_or_path": tokenizer_path(model)}
    config = PromptTuningConfig(task_type=task_type(task), num_virtual_tokens=opts.num_virtual_tokens,
                                **extra)
    peft_model = get_peft_model(model, config)
    if task == "classification":
        pool_on_last_real_token(peft_model)
    return peft_model


def pool_on_last_real_token(peft_model: Any) -> None:
    """Make a decoder classifier (gpt2, llama: a `score` head) read the last unpadded token.

    PEFT hands such a model inputs_embeds, so it cannot find the padding and pools the last
    position, a pad under right padding. Hooks copy the last real token's logits there. Call it
    again after loading a saved prompt adapter onto a decoder classifier.
    """
    import torch

    base = peft_model.get_base_model()
    if not hasattr(base, "score"):
        return  # encoder classifiers (BERT's `classifier`) pool position 0, not the last token
    seen: dict[str, Any] = {}

    def remember_mask(module: Any, args: tuple, kwargs: dict) -> None:
        seen["mask"] = kwargs.get("attention_mask")

    def move_last_real(module: Any, inputs: tuple, logits: Any) -> Any:
        mask = seen.pop("mask", None)
        if mask is None or logits.dim() != 3 or mask.shape[1] != logits.shape[1]:
            return None
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (positions * (mask != 0)).argmax(-1)  # what transformers computes from input_ids
        rows = torch.arange(logits.shape[0], device=logits.device)
        moved = logits.clone()
        moved[rows, -1] = logits[rows, last]
        return moved

    base.register_forward_pre_hook(remember_mask, with_kwargs=True)
    base.score.register_forward_hook(move_last_real)


METHOD = register(Method(
    name="prompt",
    learning_rate=0.3,
    options=PromptOptions,
    apply=apply,
    mergeable=False,
    peft_native=True,
    description=(
        "Prompt tuning freezes the whole model and learns only n input embeddings, a soft prompt "
        "placed before every example. Trainable parameters: n·d_model. It cannot be merged and "
        "takes n positions of the context. It needs a much higher learning rate than LoRA (the "
        "paper uses 0.3) and works best on large models. Choose it when adapters must be tiny and the "
        "model is big."
    ) + short_run_limit("prompt"),
))
