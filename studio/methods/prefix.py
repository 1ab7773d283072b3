"""Prefix tuning (Li & Liang, 2021): trainable key/value vectors prepended in every attention layer."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.config import opt
from studio.methods.limits import short_run_limit
from studio.methods.lora import task_type
from studio.methods.prefix_defaults import resolved
from studio.methods.registry import Method, register

# PEFT saves a projected prefix as its computed key/values only, which cannot be loaded back into
# the MLP: a run resumed from such a checkpoint needs the MLP too, so checkpoints carry this file.
TRAINING_STATE_FILE = "prefix_training_state.safetensors"


@dataclass
class PrefixOptions:
    """Prefix-tuning settings; empty ones follow the task (studio/methods/prefix_defaults.py)."""

    num_virtual_tokens: int | None = opt(None, "Prefix length: key/value vectors added per layer; empty = "
                                         "10 for generation (the paper's table-to-text), 20 for "
                                         "classification (P-tuning v2)", min=1, max=1024)
    prefix_projection: bool | None = opt(None, "Train the prefix through a small MLP (the paper's "
                                         "reparameterisation; only the computed prefix is saved); empty = "
                                         "yes for generation, no for classification (P-tuning v2: the MLP "
                                         "makes each step move the prefix far more than the rate says)")
    encoder_hidden_size: int = opt(512, "Hidden size of that MLP (512 in the paper's code)", min=1, max=65536)


def apply(model: Any, opts: PrefixOptions, task: str) -> Any:
    """Wrap the model so only the prefix (its MLP while training, and a classifier head) trains."""
    from peft import PrefixTuningConfig, get_peft_model

    chosen = resolved({"num_virtual_tokens": opts.num_virtual_tokens,
                       "prefix_projection": opts.prefix_projection}, task)
    config = PrefixTuningConfig(task_type=task_type(task), num_virtual_tokens=chosen["num_virtual_tokens"],
                                prefix_projection=chosen["prefix_projection"],
                                encoder_hidden_size=opts.encoder_hidden_size)
    keep_encoder_positions(model)  # call it again when loading a saved prefix onto a fresh base
    return get_peft_model(model, config)


def keep_encoder_positions(model: Any) -> bool:
    """Let an encoder's (BERT, RoBERTa) real tokens keep positions 0..len-1 under a prefix.

    PEFT hands the prefix over as a key/value cache, and an encoder's embeddings then start the
    position ids after the cache as if the prefix were earlier text: [CLS] sits at position n,
    every token n places later than anything the frozen model was trained on, so [CLS] reads
    position embeddings it never saw. The prefix is no text and needs no position. (This alone
    does not make MiniLM learn the rankings sample; see the method's description for what was
    measured.) Decoders keep the offset: there the prefix stands for past tokens. Returns
    whether a hook was added.
    """
    import inspect

    config = getattr(model, "config", None)
    backbone = getattr(model, "base_model", model)
    embeddings = getattr(backbone, "embeddings", None)
    if config is None or getattr(config, "is_decoder", False) or embeddings is None:
        return False
    if "past_key_values_length" not in inspect.signature(embeddings.forward).parameters:
        return False
    if getattr(embeddings, "_studio_positions_from_zero", False):
        return True  # already hooked (a second adapter loaded onto the same base)

    def positions_from_zero(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        kwargs["past_key_values_length"] = 0
        return args, kwargs

    embeddings.register_forward_pre_hook(positions_from_zero, with_kwargs=True)
    embeddings._studio_positions_from_zero = True
    return True


def has_projection(model: Any) -> bool:
    """Whether this is a prefix-tuned PEFT model still training through the reparameterisation MLP."""
    config = getattr(model, "peft_config", {}).get("default")
    return bool(config is not None and getattr(config, "prefix_projection", False)
                and not config.inference_mode)


def save_training_state(model: Any, folder: Path) -> bool:
    """Next to PEFT's files, write every trainable tensor (prefix MLP, classifier head) for resuming."""
    if not has_projection(model):
        return False
    from safetensors.torch import save_file

    tensors = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(tensors, str(Path(folder) / TRAINING_STATE_FILE))
    return True


def load_training_state(model: Any, folder: Path) -> bool:
    """Restore what save_training_state wrote (instead of PEFT's load_adapter); False if absent."""
    path = Path(folder) / TRAINING_STATE_FILE
    if not path.is_file() or not has_projection(model):
        return False
    from safetensors.torch import load_file

    params = dict(model.named_parameters())
    for name, tensor in load_file(str(path)).items():
        if name not in params or params[name].shape != tensor.shape:
            raise ValueError(f"{path}: {name} does not fit this model (different prefix options?)")
        params[name].data.copy_(tensor.to(params[name].dtype))
    return True


METHOD = register(Method(
    name="prefix",
    learning_rate=1e-3,
    options=PrefixOptions,
    apply=apply,
    mergeable=False,
    peft_native=True,
    description=(
        "Prefix tuning freezes the model and learns, for every layer, n virtual tokens' keys and "
        "values that every real token can attend to. Trainable parameters: n·2·L·d_kv (d_kv = "
        "d_model, or the grouped key/value width); with the reparameterisation MLP of hidden size h "
        "training uses n·d_kv + (d_kv + 1)·h + (h + 1)·2·L·d_kv instead, but only the n·2·L·d_kv "
        "prefix is kept. It cannot be merged and shortens the usable context by n. Its defaults "
        "follow the task: for generation the paper's 10 tokens through the MLP; for classification "
        "P-tuning v2's recipe (Liu et al., 2022), 20 tokens trained directly at 1e-2. Through the MLP "
        "every step moves each prefix element by up to the rate times the sum of the MLP's 512 "
        "hidden activations: at 1e-3 a MiniLM classifier's prefix was redrawn by 20-33 % of its size "
        "per step and its loss stayed at ln 6 on the rankings sample; trained directly it moves about "
        "1 % per step, and the classification defaults reached 84.4 % (seed 0) and 24.5 % (seed 1) "
        "there in 300 steps (full fine-tuning 52 %): when its loss leaves ln 6 varies from seed to "
        "seed, so give it more steps on hard tasks. Choose it for generation tasks with little data "
        "when one model must serve many tasks, or to classify with a small file per task."
        + short_run_limit("prefix")  # the measured gap on the hard task, once the bench lists it
    ),
))
