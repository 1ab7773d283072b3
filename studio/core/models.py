"""Load tokenizers and models from folders, hub ids or GGUF files (converted once to safetensors)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from studio.modelinfo.sources import ModelSource, resolve_model

COMPLETE_MARKER = ".complete"


def model_folder(ref: str, models_dir: Path, trust_remote_code: bool = False) -> str:
    """A local folder or hub id that `from_pretrained` can read; GGUF files are converted first."""
    src = resolve_model(ref)
    if src.kind == "gguf":
        return str(convert_gguf(src, models_dir))
    return src.path


def convert_gguf(src: ModelSource, models_dir: Path) -> Path:
    """Dequantize a GGUF file into a safetensors folder under models/, once; later calls reuse it."""
    gguf_path = Path(src.path) / src.gguf_file
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    target = Path(models_dir) / f"{gguf_path.stem}-{key}"
    if (target / COMPLETE_MARKER).is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.core.gguf_reads import shared_gguf_reads

    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with shared_gguf_reads():  # the file is parsed once, not once per config/tokenizer/tensors
        tokenizer = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file)
    # The weights are already dequantized to plain tensors; drop the GGUF quantizer so the
    # folder saves (and later loads) as an ordinary safetensors model.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / COMPLETE_MARKER).write_text(json.dumps({"from": str(gguf_path)}))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)  # a crash mid-conversion leaves only a .tmp folder, never a half model
    return target


def load_tokenizer(folder: str, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer with a pad token (eos when it has none) and right padding."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    tok.padding_side = "right"
    return tok


def load_model(folder: str, task: str, *, label_names: list[str] | None = None, dtype: Any = None,
               trust_remote_code: bool = False, quantization_config: Any = None, **extra: Any) -> Any:
    """A causal LM or a sequence classifier (with our label names) from a folder or hub id.

    `extra` are further `from_pretrained` kwargs a method needs (see Method.load_kwargs)."""
    import transformers

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code, **extra}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
    if task == "classification":
        labels = list(label_names or [])
        kwargs.update(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={n: i for i, n in enumerate(labels)})
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            folder, ignore_mismatched_sizes=True, **kwargs)
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if quantization_config is not None:
        from studio.methods.qlora import keep_trainable_cpu_layout

        keep_trainable_cpu_layout(model)  # every quantized load may train or evaluate next
    return model


def method_load_kwargs(method_name: str, opts: Any, device: str) -> dict[str, Any]:
    """`from_pretrained` kwargs a method needs for its base (QLoRA: quantized), for training or reload."""
    from studio import methods

    method = methods.get(method_name)
    if method.load_kwargs is None:
        return {}
    if isinstance(opts, dict):
        opts = methods.parse_options(method_name, opts)
    extra = method.load_kwargs(opts)
    if "quantization_config" in extra and device == "cpu":
        extra["device_map"] = {"": "cpu"}  # else a quantized base lands on any CUDA device present
    return extra


def ensure_pad_token_id(model: Any, tokenizer: Any) -> None:
    """Classifiers pool on the last non-pad token, so the model must know the pad id."""
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = total = 0
    for p in model.parameters():
        # A 4-bit bitsandbytes weight packs two values per element; count the logical ones.
        quant_state = getattr(p, "quant_state", None)
        n = quant_state.shape.numel() if quant_state is not None else p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total
