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
    method = get(method_name)
    folder = Path(folder)
    if method.peft_native or method_name == "full":
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

        return PeftModel.from_pretrained(model, str(folder))
    from safetensors.torch import load_file

    name = config["studio_method"]
    method = get(name)
    task = "classification" if "ForSequenceClassification" in type(model).__name__ else "causal-lm"
    model = method.apply(model, method.options(**config["options"]), task)
    tensors = load_file(str(folder / WEIGHTS_FILE))
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
