"""Export an adapter: merged into its base as a plain transformers model, or the adapter folder alone.

Both arrive atomically (bundle.staged_output) with a README model card and a sha256 manifest, and
report progress as (stage, fraction) for the GUI. torch is imported inside the functions: this runs
in `studio export` (a child process), never in the GUI.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from studio.library.bundle import CARD, MANIFEST, model_card, staged_output, write_manifest
from studio.library.inspect import MERGEABLE, AdapterInfo, describe
from studio.library.inspect import merge_refusal
from studio.library.library import PENDING, copy_tokenizer
from studio.library.validate import locate_base

Progress = Callable[[str, float], None]
DTYPES = ("bf16", "fp16", "fp32")
class NotMergeable(ValueError):
    """The adapter's method cannot be merged into its base (the message says why and what to do)."""


def why_not_mergeable(method: str | None, name: str) -> str:
    """The refusal text for a merged export of a non-mergeable adapter."""
    return (f"{name}: a {method} adapter cannot be merged: {merge_refusal(method)}. Export the adapter alone instead "
            f"(`studio export {name} --adapter-only OUT`); it loads on top of the base model.")


def _noop(stage: str, fraction: float) -> None:
    """The default progress callback: reports nothing."""


def export_merged(adapter_dir: str | Path, out: str | Path, *, dtype: str = "bf16",
                  max_shard_size: str | int = "2GB", base: str | None = None,
                  progress: Progress | None = None, models_dir: Path | None = None, verify: bool = True) -> Path:
    """Merge the adapter into its base and save a plain transformers model folder at `out`, verified by
    reloading it with transformers (verification.json)."""
    import torch

    from studio.library import reload
    from studio.library.verify import write_record

    report = progress or _noop
    adapter_dir = Path(adapter_dir)
    info = describe(adapter_dir)
    if info.method not in MERGEABLE:
        raise NotMergeable(why_not_mergeable(info.method, adapter_dir.name))
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    with staged_output(out) as tmp:
        captured: dict[str, Any] = {}

        def keep_reference(model: Any, tokenizer: Any) -> None:
            captured["tokenizer"] = tokenizer
            if verify:
                captured["ref"] = reload.reference(model, tokenizer, info)

        model, base_dir = merged_model(adapter_dir, info, torch_dtype, base, report, models_dir=models_dir,
                                       before_merge=keep_reference)
        report("saving weights", 0.55)
        model.save_pretrained(tmp, max_shard_size=max_shard_size)
        report("copying tokenizer", 0.8)
        tokenizer_from = adapter_dir if list(adapter_dir.glob("tokenizer*")) else base_dir
        if tokenizer_from is not None:
            copy_tokenizer(tokenizer_from, tmp)
        if base_dir is not None and (base_dir / "generation_config.json").is_file() \
                and not (tmp / "generation_config.json").exists():
            shutil.copy2(base_dir / "generation_config.json", tmp / "generation_config.json")
        if verify:
            report("verifying", 0.85)
            del model
            write_record(tmp, reload.check_merged(tmp, info, captured["ref"], dtype, captured["tokenizer"]))
        finish(tmp, out, info, merged=True, dtype=dtype, library="transformers", report=report)
    report("done", 1.0)
    return Path(out)


def merged_model(adapter_dir: Path, info: AdapterInfo, torch_dtype: Any, base: str | None,
                 report: Progress, *, models_dir: Path | None = None,
                 before_merge: Callable[[Any, Any], None] | None = None) -> tuple[Any, Path | None]:
    """(the plain merged model in torch_dtype, the base folder) — loaded as load_with_adapter does.

    QLoRA merges into the base loaded in torch_dtype (16/32-bit), never into 4-bit weights: its
    adapter is plain LoRA, so the LoRA merge applies once the base is loaded unquantized.
    `before_merge(model, tokenizer)` sees the base+adapter unmerged (the verification's reference)."""
    import warnings

    import transformers

    from studio import methods
    from studio.core.models import ensure_pad_token_id, load_model, load_tokenizer
    from studio.methods.saving import load_method_weights

    transformers.utils.logging.disable_progress_bar()  # stderr carries our progress lines only
    warnings.filterwarnings("ignore", category=FutureWarning)
    labels = list(info.id2label.values()) if info.id2label else None
    report("loading base", 0.05)
    if info.method == "full":  # full fine-tuning saved a whole model
        base_dir = None
        model = load_model(str(adapter_dir), info.task, label_names=labels, dtype=torch_dtype)
    else:
        base_dir = base_folder(locate_base(base or info.base_ref, None if base else info.base_path), models_dir)
        model = load_model(str(base_dir), info.task, label_names=labels, dtype=torch_dtype)
        report("applying adapter", 0.3)
        model = load_method_weights(model, adapter_dir)
    tokenizer = load_tokenizer(str(adapter_dir if list(adapter_dir.glob("tokenizer*")) else base_dir))
    ensure_pad_token_id(model, tokenizer)  # a classifier pools on the last non-pad token
    model.eval()
    if before_merge is not None:
        before_merge(model, tokenizer)
    report("merging", 0.45)
    merge = methods.get("lora" if info.method == "qlora" else str(info.method)).merge
    model = merge(model).to(torch_dtype)
    model.eval()
    return model, base_dir


def base_folder(base: Path, models_dir: Path | None) -> Path:
    """A folder transformers can load: a GGUF base (the SmolLM2 sample) is converted once into
    models/, exactly as training converted it, so adapters trained on GGUF bases merge too."""
    if base.suffix.lower() != ".gguf":
        return base
    import tempfile

    from studio.core.models import convert_gguf
    from studio.modelinfo.sources import resolve_model

    return convert_gguf(resolve_model(str(base)), models_dir or Path(tempfile.gettempdir()) / "studio-models")


def export_adapter_only(adapter_dir: str | Path, out: str | Path, *, progress: Progress | None = None,
                        base: str | None = None, models_dir: Path | None = None, verify: bool = True) -> Path:
    """Copy the adapter folder (any method) with a model card and a manifest, atomically, verified by
    loading the copy on a fresh base (verification.json)."""
    report = progress or _noop
    adapter_dir = Path(adapter_dir)
    info = describe(adapter_dir)
    with staged_output(out) as tmp:
        report("copying adapter", 0.1)
        for f in sorted(adapter_dir.iterdir()):
            if f.name in (PENDING, MANIFEST, CARD):
                continue
            (shutil.copytree if f.is_dir() else shutil.copy2)(f, tmp / f.name)
        if verify:
            report("verifying", 0.5)
            _verify_adapter_copy(adapter_dir, tmp, info, base, models_dir)
        library = "peft" if info.kind == "peft" else "transformers" if info.kind == "full-model" else "fine-tuning-studio"
        finish(tmp, out, info, merged=False, dtype=None, library=library, report=report)
    report("done", 1.0)
    return Path(out)


def _verify_adapter_copy(adapter_dir: Path, tmp: Path, info: AdapterInfo, base: str | None,
                        models_dir: Path | None) -> None:
    """verification.json for an adapter-only export; a base that cannot be found makes it unverified."""
    from studio.library import reload
    from studio.library.verify import failed, write_record

    try:
        ref, tokenizer, base_dir = reload.adapter_reference(adapter_dir, info, base, models_dir)
    except Exception as e:  # noqa: BLE001 - the copy is still useful; the record says why it is unchecked
        write_record(tmp, failed("adapter-only", f"no reference to compare with: {type(e).__name__}: {e}"))
        return
    write_record(tmp, reload.check_adapter(tmp, info, ref, tokenizer, base_dir))


def finish(tmp: Path, out: str | Path, info: AdapterInfo, *, merged: bool, dtype: str | None,
           library: str, report: Progress) -> None:
    """Write the README model card, then the manifest of every file (the card included)."""
    report("writing model card", 0.9)
    meta = dict(info.studio_meta or {"method": info.method, "task": info.task, "base_model": info.base_ref})
    files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()) + [CARD, MANIFEST]
    (tmp / CARD).write_text(model_card(Path(out).name, meta, merged=merged, dtype=dtype, library=library,
                                       files=files), encoding="utf-8")
    report("writing manifest", 0.95)
    write_manifest(tmp)
