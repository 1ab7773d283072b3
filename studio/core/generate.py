"""Text generation with a base model, with and without an adapter (greedy by default)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def load_with_adapter(adapter_dir: Path) -> tuple[Any, Any]:
    """Base model + saved method weights from an adapter folder (its studio.json names the base)."""
    import json

    import warnings

    import transformers

    from studio.core.models import load_model, load_tokenizer, method_load_kwargs
    from studio.methods.saving import load_method_weights

    transformers.utils.logging.disable_progress_bar()  # keep the terminal output to the results
    warnings.filterwarnings("ignore", category=FutureWarning)

    meta = json.loads((Path(adapter_dir) / "studio.json").read_text())
    tokenizer = load_tokenizer(str(adapter_dir))
    labels = list(meta["id2label"].values()) if meta.get("id2label") else None
    if meta["method"] == "full":  # full fine-tuning saved a whole model
        model = load_model(str(adapter_dir), meta["task"], label_names=labels)
    else:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        base = load_model(meta["base_model_path"], meta["task"], label_names=labels,
                          **method_load_kwargs(meta["method"], meta.get("method_options") or {}, device))
        model = load_method_weights(base, Path(adapter_dir))
    model.eval()
    return model, tokenizer


def generate(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = 40) -> str:
    """Greedy continuation of `prompt` (already rendered, e.g. by the chat template)."""
    import torch

    enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
