"""The check each node runs before training a cluster bundle: every data file as written (size,
sha256), the model reachable with the same config, the studio the bundle was written by.

Problems name the file, so a node with a stale copy stops before any rank starts."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from studio import __version__
from studio.jobs.cluster_bundle import MANIFEST
from studio.library.bundle import sha256_file


class BundleError(ValueError):
    """The bundle on this node differs from what was written, or its model is not here."""


def read_manifest(bundle: str | Path) -> dict[str, Any]:
    """The bundle's manifest.json, or a BundleError naming the folder."""
    path = Path(bundle) / MANIFEST
    if not path.is_file():
        raise BundleError(f"{path}: missing; is {bundle} a bundle written by `studio cluster-script`?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path}: not a readable manifest ({e})") from None


def data_problems(bundle: Path, manifest: dict[str, Any]) -> list[str]:
    """Data files missing, resized or changed since the bundle was written."""
    problems = []
    for entry in manifest.get("data", []):
        if "path" not in entry:
            continue  # a hub dataset: loaded by name, nothing to compare
        f = bundle / entry["path"]
        if not f.is_file():
            problems.append(f"{f}: missing (data.{entry['role']})")
        elif f.stat().st_size != entry["size"] or sha256_file(f) != entry["sha256"]:
            problems.append(f"{f}: sha256 differs from manifest.json (data.{entry['role']} changed after the "
                            "bundle was written; copy the bundle again)")
    return problems


def model_problems(model: dict[str, Any]) -> list[str]:
    """The model the manifest names, missing on this node or not the same one."""
    from studio.modelinfo.sources import ModelNotFound, resolve_model

    ref = model["ref"]
    try:
        src = resolve_model(ref)
    except ModelNotFound as e:
        return [f"model: {e} (every node needs it at the same place)"]
    if src.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref, "config.json")
        if not isinstance(cached, str):
            if os.environ.get("HF_HUB_OFFLINE") == "1":
                return [f"model: {ref!r} is not in this node's Hugging Face cache and HF_HUB_OFFLINE=1"]
            return []  # downloaded by each rank as it loads
        found = Path(cached)
    elif src.gguf_file:
        f = Path(src.path) / src.gguf_file
        if model.get("size") is not None and f.stat().st_size != model["size"]:
            return [f"model: {f}: a different file from the one the bundle was written with (size differs)"]
        return []
    else:
        found = Path(src.path) / "config.json"
    want = model.get("config_sha256")
    if want and sha256_file(found) != want:
        return [f"model: {found}: sha256 differs from manifest.json (not the model the bundle was written for)"]
    return []


def verify_bundle(bundle: str | Path) -> dict[str, Any]:
    """Check the bundle on this node; returns the manifest, or raises BundleError listing each problem."""
    bundle = Path(bundle).resolve()
    manifest = read_manifest(bundle)
    problems = data_problems(bundle, manifest) + model_problems(manifest["model"])
    if not (bundle / "home" / "studio.db").is_file():
        problems.append(f"{bundle / 'home' / 'studio.db'}: missing (the bundle's run is recorded there)")
    if problems:
        raise BundleError("the bundle cannot train on this node:\n  " + "\n  ".join(problems))
    return manifest


def version_note(manifest: dict[str, Any]) -> str | None:
    """A warning when this node's studio is not the one that wrote the bundle."""
    if manifest.get("studio_version") != __version__:
        return (f"warning: the bundle was written by studio {manifest.get('studio_version')}, this node runs "
                f"studio {__version__}")
    return None
