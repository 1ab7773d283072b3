"""Load what an export wrote with the loader its users will use, and check it against the reference:
plain transformers for merged folders, PEFT (or the studio, for our own methods) for adapter folders,
transformers' `gguf_file=` loader (dequantised) for GGUF files. A load that fails is itself the
finding: the record says unverified and why, and the export is still kept for the user to judge."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.library import verify
from studio.library.inspect import AdapterInfo


def reference(model: Any, tokenizer: Any, info: AdapterInfo) -> verify.Reference:
    """The in-memory base+adapter's answers to the adapter's sample prompts."""
    task = info.task or "causal-lm"
    return verify.reference_run(model, tokenizer, verify.sample_prompts(info, tokenizer), task)


def _auto_class(task: str | None) -> Any:
    import transformers

    return transformers.AutoModelForSequenceClassification if task == "classification" \
        else transformers.AutoModelForCausalLM


def check_merged(folder: Path, info: AdapterInfo, ref: verify.Reference, dtype: str, tokenizer: Any) -> dict:
    """Reload a merged folder with plain transformers and compare it with the reference."""
    try:
        model = _auto_class(info.task).from_pretrained(str(folder), dtype="auto")
        model.eval()
        measured = verify.compare(model, tokenizer, ref)
    except Exception as e:  # noqa: BLE001 - any failure to load is the verification's result
        return verify.failed(dtype, f"reloading with transformers failed: {type(e).__name__}: {e}")
    return verify.judge(dtype, measured)


def adapter_reference(adapter_dir: Path, info: AdapterInfo, base: str | None,
                      models_dir: Path | None) -> tuple[verify.Reference, Any, Path | None]:
    """(the reference, the tokenizer, the base folder) from the adapter folder as the library holds it."""
    model, tokenizer, base_dir = _load_adapter(adapter_dir, info, base, models_dir)
    return reference(model, tokenizer, info), tokenizer, base_dir


def check_adapter(folder: Path, info: AdapterInfo, ref: verify.Reference, tokenizer: Any,
                  base_dir: Path | None) -> dict:
    """Reload an adapter-only export on a fresh base (PEFT for PEFT adapters, the studio for ours)."""
    try:
        model, _, _ = _load_adapter(folder, info, str(base_dir) if base_dir else None, None)
        measured = verify.compare(model, tokenizer, ref)
    except Exception as e:  # noqa: BLE001
        return verify.failed("adapter-only", f"reloading the adapter failed: {type(e).__name__}: {e}")
    return verify.judge("adapter-only", measured)


def _load_adapter(folder: Path, info: AdapterInfo, base: str | None,
                  models_dir: Path | None) -> tuple[Any, Any, Path | None]:
    import torch

    from studio.core.models import ensure_pad_token_id, load_model, load_tokenizer
    from studio.library.export import base_folder
    from studio.library.validate import locate_base
    from studio.methods.saving import load_method_weights

    labels = list(info.id2label.values()) if info.id2label else None
    if info.method == "full":
        model, base_dir = load_model(str(folder), info.task, label_names=labels, dtype=torch.float32), None
    else:
        base_dir = base_folder(locate_base(base or info.base_ref, None if base else info.base_path), models_dir)
        model = load_model(str(base_dir), info.task, label_names=labels, dtype=torch.float32)
        model = load_method_weights(model, Path(folder))
    tokenizer = load_tokenizer(str(folder if list(Path(folder).glob("tokenizer*")) else base_dir))
    ensure_pad_token_id(model, tokenizer)
    model.eval()
    return model, tokenizer, base_dir


def check_gguf(path: Path, info: AdapterInfo, ref: verify.Reference, quant: str, tokenizer: Any) -> dict:
    """Read the GGUF's metadata (template, special tokens) and reload it dequantised with transformers."""
    from studio.library.gguf_check import metadata_problems, tokenizer_agreement

    path = Path(path)
    problems = metadata_problems(path, tokenizer)
    if problems and problems[0].startswith("unreadable"):
        return verify.failed(quant, problems[0])
    try:
        import os

        import transformers

        os.environ["TQDM_DISABLE"] = "1"  # the GGUF loader's own bar would mix into our progress lines
        transformers.utils.logging.disable_progress_bar()
        model = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
        model.eval()
        measured = verify.compare(model, tokenizer, ref)
        measured["tokenizer_agreement"] = tokenizer_agreement(path, tokenizer, ref.prompts)
    except Exception as e:  # noqa: BLE001
        return verify.failed(quant, f"reloading with transformers' GGUF loader failed: {type(e).__name__}: {e}")
    return verify.judge(quant, measured, problems)
