"""GGUF export: merge the adapter (export.merged_model, in fp32), convert the merged folder with
llama.cpp's own converter (`convert-hf-to-gguf`, run as a child process), quantise with the `gguf`
package where the converter cannot, verify by reloading, and write an Ollama Modelfile beside it.

Everything is written in a temp folder beside OUT.gguf and moved into place only once complete
(the GGUF last); nothing existing is overwritten, and a failure anywhere leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from studio.library.bundle import OutputExists, sha256_file
from studio.library.export import NotMergeable, Progress, _noop, merged_model, why_not_mergeable
from studio.library.gguf_types import CONVERTER_TYPES, check_quant
from studio.library.gguf_types import UnsupportedQuant, estimate_size  # noqa: F401 - the exporter's API
from studio.library.inspect import MERGEABLE, describe
from studio.library.library import copy_tokenizer


class ConversionFailed(ValueError):
    """llama.cpp's converter refused the model (its last log lines say why)."""


def outputs(out: Path) -> dict[str, Path]:
    """The files one GGUF export writes: the GGUF, its Modelfile and its verification record."""
    return {"gguf": out, "modelfile": out.with_suffix(".Modelfile"),
            "record": out.with_suffix(".verification.json")}


def end_tokens(tokenizer: Any, generation: dict[str, Any]) -> list[str]:
    """The texts of the tokens that end a turn: the tokenizer's EOS and generation_config's eos ids."""
    ids = generation.get("eos_token_id")
    ids = ids if isinstance(ids, list) else [ids] if ids is not None else []
    texts = [tokenizer.eos_token] + [tokenizer.convert_ids_to_tokens(int(i)) for i in ids]
    return list(dict.fromkeys(t for t in texts if t))


def run_converter(merged: Path, outfile: Path, outtype: str) -> None:
    """llama.cpp's convert_hf_to_gguf as a child process (it configures logging and exits on errors)."""
    cmd = [sys.executable, "-m", "convert_hf_to_gguf", str(merged), "--outfile", str(outfile), "--outtype", outtype]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()][-6:]
        raise ConversionFailed("llama.cpp's converter failed:\n  " + "\n  ".join(tail))


def export_gguf(adapter_dir: str | Path, out: str | Path, *, quant: str = "q8_0", base: str | None = None,
                models_dir: Path | None = None, verify: bool = True, progress: Progress | None = None,
                convert: Callable[[Path, Path, str], None] = run_converter) -> dict[str, Any]:
    """Write OUT.gguf (+ OUT.Modelfile, OUT.verification.json); return the verification record."""
    import torch

    from studio.library import reload
    from studio.library.gguf_quantize import quantize_gguf
    from studio.library.ollama import build_modelfile, generation_defaults

    report = progress or _noop
    quant = check_quant(quant)
    adapter_dir, out = Path(adapter_dir), Path(out).expanduser().absolute()
    if out.suffix.lower() != ".gguf":
        raise ValueError(f"--gguf {out}: the file name must end in .gguf")
    info = describe(adapter_dir)
    if info.task == "classification":
        raise NotMergeable(f"{adapter_dir.name}: a classifier cannot be exported as GGUF (llama.cpp runs "
                           "text generators); use --merged or --adapter-only")
    if info.method not in MERGEABLE:
        raise NotMergeable(why_not_mergeable(info.method, adapter_dir.name))
    files = outputs(out)
    taken = [str(p) for p in files.values() if p.exists()]
    if taken:
        raise OutputExists(f"{', '.join(taken)} already exist(s); choose a new file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        captured: dict[str, Any] = {}

        def keep_reference(model: Any, tokenizer: Any) -> None:
            captured["tokenizer"] = tokenizer
            if verify:
                report("reference answers", 0.35)
                captured["ref"] = reload.reference(model, tokenizer, info)

        model, base_dir = merged_model(adapter_dir, info, torch.float32, base, report,
                                       models_dir=models_dir, before_merge=keep_reference)
        tokenizer = captured["tokenizer"]
        merged = stage / "merged"
        report("saving merged model", 0.5)
        model.save_pretrained(merged)
        del model
        tokenizer_from = adapter_dir if list(adapter_dir.glob("tokenizer*")) else base_dir
        copy_tokenizer(Path(tokenizer_from), merged)
        if base_dir is not None:
            if not list(merged.glob("tokenizer*")):
                copy_tokenizer(base_dir, merged)
            for extra in ("generation_config.json", "tokenizer.model"):
                if (base_dir / extra).is_file() and not (merged / extra).exists():
                    shutil.copy2(base_dir / extra, merged / extra)
        report("converting (llama.cpp)", 0.55)
        converted = stage / (out.name if quant in CONVERTER_TYPES else "f32.gguf")
        convert(merged, converted, quant if quant in CONVERTER_TYPES else "f32")
        if quant not in CONVERTER_TYPES:
            report(f"quantising {quant}", 0.7)
            quantize_gguf(converted, stage / out.name, quant)
            converted.unlink()
        final = stage / out.name
        if verify:
            report("verifying", 0.8)
            record = reload.check_gguf(final, info, captured["ref"], quant, tokenizer)
        else:
            record = {"format": quant, "verified": False, "reason": "verification skipped (--no-verify)"}
        report("writing Modelfile", 0.93)
        # From the model's own tokenizer, not the GGUF: the Modelfile must be right even when the
        # GGUF lost its template (the verification then says so).
        generation = generation_defaults(merged)
        modelfile = build_modelfile(out.name, getattr(tokenizer, "chat_template", None),
                                    end_tokens(tokenizer, generation), generation)
        (stage / files["modelfile"].name).write_text(modelfile.text, encoding="utf-8")
        record.update(quant=quant, size_bytes=final.stat().st_size, sha256=sha256_file(final),
                      ollama_family=modelfile.family, warnings=modelfile.warnings,
                      adapter=str(adapter_dir), base=str(base_dir) if base_dir else None)
        (stage / files["record"].name).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        shutil.rmtree(merged)
        for key in ("record", "modelfile", "gguf"):  # the GGUF last: its presence means complete
            os.replace(stage / files[key].name, files[key])
    except BaseException:
        for key in ("record", "modelfile"):
            if files[key].exists() and not (files["gguf"]).exists():
                files[key].unlink()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    report("done", 1.0)
    return record
