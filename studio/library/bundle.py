"""What every export carries: an atomic arrival (temp folder, then one rename), a README model card and
a sha256 manifest (`sha256sum -c MANIFEST.sha256` checks it). No torch: the GUI may verify folders."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio import __version__

MANIFEST = "MANIFEST.sha256"
CARD = "README.md"


class OutputExists(ValueError):
    """The export's target folder exists and is not empty."""


@contextlib.contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `out`; on success it becomes `out` in one rename, on failure it goes."""
    out = Path(out).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExists(f"{out} already exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        umask_modes(tmp)
        if out.is_dir():
            out.rmdir()  # empty (checked above): a directory cannot be renamed over everywhere
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def current_umask() -> int:
    """This process's umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once (exports run in their own process)
    os.umask(mask)
    return mask


def umask_modes(folder: Path) -> None:
    """Give every file and folder under `folder` the mode the user's umask gives new ones.

    safetensors writes its files 0600 (through a private temp file) while every other writer
    honours the umask, so an export would otherwise mix 0600 weights with 0644 configs."""
    mask = current_umask()
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o777 & ~mask)
        for name in files:
            path = os.path.join(root, name)
            executable = os.stat(path).st_mode & 0o111  # a script stays runnable
            os.chmod(path, (0o777 if executable else 0o666) & ~mask)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> Path:
    """MANIFEST.sha256 in sha256sum's format: every file under folder but the manifest itself."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    (folder / MANIFEST).write_text("".join(lines), encoding="utf-8")
    return folder / MANIFEST


def verify_manifest(folder: Path) -> list[str]:
    """Problems with a folder against its manifest: changed, missing and unlisted files ([] if intact)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{path}: missing"]
    listed: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    problems = []
    for name, digest in listed.items():
        f = folder / name
        if not f.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(f) != digest:
            problems.append(f"{name}: sha256 differs from the manifest")
    actual = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    problems += [f"{name}: not in the manifest" for name in sorted(actual - set(listed))]
    return problems


def model_card(name: str, meta: dict[str, Any], *, merged: bool, dtype: str | None = None,
               library: str = "transformers", files: list[str] | None = None) -> str:
    """README.md: YAML front matter (base_model, library_name, tags) and what, how and on what data."""
    from huggingface_hub import ModelCardData

    method = meta.get("method") or "unknown"
    task = meta.get("task")
    data = ModelCardData(base_model=meta.get("base_model"), library_name=library,
                         pipeline_tag="text-classification" if task == "classification" else "text-generation",
                         tags=["fine-tuning-studio", method] + (["merged"] if merged else []))
    what = (f"the base weights with the {method} update merged in, saved as {dtype}" if merged
            else f"the {method} adapter alone; load it on top of the base model")
    lines = ["---", data.to_yaml(), "---", "", f"# {name}", "",
             f"`{meta.get('base_model')}` fine-tuned with **{method}** in Fine-tuning Studio "
             f"{meta.get('studio_version') or __version__} (exported by studio {__version__}). "
             f"This folder holds {what}.", ""]
    lines += ["## Method", "", f"- method: {method}"]
    lines += [f"- {k}: {v}" for k, v in (meta.get("method_options") or {}).items()]
    if meta.get("merged_from"):
        lines += [f"- combined ({meta.get('combination')}): " + ", ".join(
            f"{m['adapter']} × {m['weight']:g}" for m in meta["merged_from"])]
    training = meta.get("training") or {}
    lines += ["", "## Data", ""]
    data_spec = training.get("data") or {}
    lines += [f"- {k}: {v}" for k, v in data_spec.items() if v not in (None, "", [])] or [
        "- not recorded (the adapter was not trained by the studio)"]
    if meta.get("id2label"):
        lines += [f"- labels: {', '.join(str(v) for v in meta['id2label'].values())}"]
    lines += ["", "## Training hyperparameters", ""]
    hyper = training.get("training") or {}
    if hyper:
        lines += ["| setting | value |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in hyper.items()]
    else:
        lines += ["not recorded"]
    lines += ["", "## Final metrics", ""]
    metrics = meta.get("final_metrics") or {}
    if metrics:
        lines += ["| metric | value |", "|---|---|"] + [
            f"| {k} | {v:.6g} |" if isinstance(v, (int, float)) else f"| {k} | {v} |" for k, v in metrics.items()]
    else:
        lines += ["none recorded"]
    lines += ["", "## Files", ""]
    lines += [f"- {f}" for f in files or []]
    lines += ["", f"`{MANIFEST}` lists the sha256 of every file: check it with `sha256sum -c {MANIFEST}`.", ""]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
