"""Saving and loading method weights: PEFT's own format for PEFT methods, the same file names
(trainable tensors only) for ours, the whole model for full fine-tuning."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from studio.methods.registry import get

CONFIG_FILE, WEIGHTS_FILE = "adapter_config.json", "adapter_model.safetensors"


def trainable_names(model: Any) -> list[str]:
    """Names of the parameters that currently require grad."""
    return [n for n, p in model.named_parameters() if p.requires_grad]


def save_method_weights(model: Any, folder: Path, method_name: str, opts: Any,
                        names: list[str] | None = None) -> None:
    """Write what `method_name` trained into `folder` (names: the method's trainable parameters)."""
    folder = Path(folder)
    if not uses_own_format(method_name):
        model.save_pretrained(folder)
        return
    from safetensors.torch import save_file

    wanted = set(names if names is not None else trainable_names(model))
    tensors = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if n in wanted}
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt", "studio_method": method_name})
    config = {"studio_method": method_name, "options": dataclasses.asdict(opts),
              "base_model_name_or_path": getattr(model, "name_or_path", None), "peft_type": None}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))


def load_method_weights(model: Any, folder: Path) -> Any:
    """Apply the saved method to `model` (a freshly loaded base) and load its trained tensors."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text())
    if config.get("studio_method") is None:  # a PEFT adapter
        from peft import PeftModel

        from studio.methods.prefix import keep_encoder_positions
        from studio.methods.prompt import pool_on_last_real_token

        model = PeftModel.from_pretrained(model, str(folder))
        if config.get("peft_type") == "PROMPT_TUNING":
            pool_on_last_real_token(model)  # a decoder classifier must read the last real token
        if config.get("peft_type") == "PREFIX_TUNING":
            keep_encoder_positions(model.get_base_model())  # as in training: see prefix.py
        return model
    name = config["studio_method"]
    method = get(name)
    task = "classification" if "ForSequenceClassification" in type(model).__name__ else "causal-lm"
    model = method.apply(model, method.options(**config["options"]), task)
    return load_trained_tensors(model, folder)


def uses_own_format(method_name: str) -> bool:
    """True for our own methods (trainable tensors only); PEFT and full use save_pretrained."""
    method = get(method_name)
    return not (method.peft_native or method_name == "full")


def load_trained_tensors(model: Any, folder: Path) -> Any:
    """Copy the tensors saved by save_method_weights into a model the method is already applied to."""
    from safetensors.torch import load_file

    name = json.loads((Path(folder) / CONFIG_FILE).read_text()).get("studio_method")
    tensors = load_file(str(Path(folder) / WEIGHTS_FILE))
    params = dict(model.named_parameters())
    unknown = sorted(set(tensors) - set(params))
    if unknown:
        raise ValueError(f"{folder / WEIGHTS_FILE}: tensors the {name} model does not have: "
                         f"{', '.join(unknown[:5])}")
    for n, t in tensors.items():
        if params[n].shape != t.shape:
            raise ValueError(f"{folder / WEIGHTS_FILE}: {n} has shape {tuple(t.shape)}, "
                             f"the model expects {tuple(params[n].shape)}")
        params[n].data.copy_(t.to(params[n].dtype))
    return model
