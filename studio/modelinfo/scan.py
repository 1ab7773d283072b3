"""Every model on this machine the studio can train: the bundled samples, the Hugging Face cache
and the folders the user added, each with its facts (read from headers, no weights loaded).

Slow on big folders (it reads headers and sizes files): call it off the GUI thread.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.modelinfo.facts import ModelFacts, facts_for
from studio.modelinfo.sources import SAMPLE_PREFIX, SAMPLES, ModelNotFound, resolve_model

SOURCES = ("sample", "cache", "folder", "gguf")


@dataclass
class ModelEntry:
    """One model: ref is what a run config's `model:` takes; source is sample|cache|folder|gguf."""

    ref: str
    name: str
    source: str
    path: str
    facts: ModelFacts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ref, name, source, path and the facts."""
        return {"ref": self.ref, "name": self.name, "source": self.source, "path": self.path,
                "facts": self.facts.to_dict()}


def hub_cache_dir() -> Path:
    """The hub cache folder as huggingface_hub finds it, read from the environment now (not at import)."""
    env = os.environ
    if env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env.get("HF_HUB_CACHE") or env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "huggingface" / "hub"


def local_models(folders: list[Path]) -> list[ModelEntry]:
    """The samples, the hub cache's model snapshots and the user's folders, each model once."""
    entries = sample_models() + cache_models()
    for folder in folders:
        entries += folder_models(Path(folder))
    seen, unique = set(), []
    for e in entries:
        key = os.path.realpath(e.path) if e.path else e.ref
        if key not in seen:  # a user folder inside the cache or a sample lists nothing twice
            seen.add(key)
            unique.append(e)
    return unique


def sample_models() -> list[ModelEntry]:
    """The real models shipped in PyPI packages (sample:minilm, sample:smollm2); missing ones say why."""
    entries = []
    for name in SAMPLES:
        ref = SAMPLE_PREFIX + name
        try:
            src = resolve_model(ref)
        except ModelNotFound as e:
            entries.append(ModelEntry(ref, ref, "sample", "", ModelFacts(problem=str(e))))
            continue
        path = str(Path(src.path) / src.gguf_file) if src.gguf_file else src.path
        entries.append(ModelEntry(ref, ref, "sample", path, facts_for(src.path, src.gguf_file)))
    return entries


def cache_models(cache_dir: Path | None = None) -> list[ModelEntry]:
    """Model repos in the hub cache: one entry per snapshot (GGUF-only snapshots: one per file)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    cache_dir = cache_dir or hub_cache_dir()
    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, ValueError, OSError):
        return []  # no cache yet (or not a folder): nothing downloaded
    entries = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id.lower()):
        if repo.repo_type != "model":
            continue
        revisions = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
        for rev in revisions:
            snapshot = Path(rev.snapshot_path)
            # The repo id loads the revision `main` points at; other snapshots only by their path.
            current = "main" in rev.refs or len(revisions) == 1
            name = repo.repo_id if current else f"{repo.repo_id}@{rev.commit_hash[:8]}"
            if not (snapshot / "config.json").is_file() and list(snapshot.glob("*.gguf")):
                entries += [ModelEntry(str(g), f"{repo.repo_id}/{g.name}", "cache", str(g), facts_for(g))
                            for g in sorted(snapshot.glob("*.gguf"))]
                continue
            facts = facts_for(snapshot)
            facts.size_bytes = rev.size_on_disk
            entries.append(ModelEntry(repo.repo_id if current else str(snapshot), name, "cache",
                                      str(snapshot), facts))
    return entries


def folder_models(folder: Path) -> list[ModelEntry]:
    """A model folder, a .gguf file, or a folder holding model folders and .gguf files one level deep."""
    if folder.is_file():
        if folder.suffix.lower() == ".gguf":
            return [_gguf(folder)]
        return [ModelEntry(str(folder), folder.name, "folder", str(folder),
                           ModelFacts(problem=f"{folder}: a model file must be .gguf"))]
    if not folder.is_dir():
        return [ModelEntry(str(folder), folder.name, "folder", str(folder),
                           ModelFacts(problem=f"{folder}: folder not found (moved or unmounted?)"))]
    if (folder / "config.json").is_file():
        return [_folder(folder)]
    entries = [_gguf(g) for g in sorted(folder.glob("*.gguf"))]
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as e:
        children = []
        entries.append(ModelEntry(str(folder), folder.name, "folder", str(folder),
                                  ModelFacts(problem=f"{folder}: cannot list ({e})")))
    for child in children:
        if (child / "config.json").is_file():
            entries.append(_folder(child))
        else:
            entries += [_gguf(g) for g in sorted(child.glob("*.gguf"))]
    if not entries:
        entries.append(ModelEntry(str(folder), folder.name, "folder", str(folder), ModelFacts(
            problem=f"{folder}: no model here (a model folder has a config.json; or add .gguf files)")))
    return entries


def _folder(path: Path) -> ModelEntry:
    return ModelEntry(str(path), path.name, "folder", str(path), facts_for(path))


def _gguf(path: Path) -> ModelEntry:
    return ModelEntry(str(path), path.name, "gguf", str(path), facts_for(path))
