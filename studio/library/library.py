"""The adapter library on disk and in the store, kept in step: a row exists exactly when its folder does.

Every change that touches both goes the same way: BEGIN IMMEDIATE (the write lock), change the row,
move the folder with one os.replace, COMMIT; if the COMMIT fails the folder is moved back. The only
window a crash can hit is between that os.replace and the COMMIT, and recover() settles it:
- install (import, merge): the folder arrives carrying a PENDING marker, removed after the commit.
  A marked folder without a row never committed, so recover() deletes it.
- remove: the folder is renamed to .trash-NAME-PID (files are deleted only after the commit). A
  trash folder whose row survived (the delete never committed) is moved back; otherwise deleted.
No torch here: the GUI may call these (on a worker thread, they copy files).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from studio import __version__
from studio.library.inspect import AdapterInfo, META_FILE, describe, head_tensors, settings_text
from studio.library.validate import check, locate_base, summary
from studio.modelinfo.facts import folder_facts, folder_size
from studio.paths import Home
from studio.store import adapters as store
from studio.store.db import now, transaction

PENDING = ".studio-pending"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,99}$")
TOKENIZER_FILES = ("tokenizer*", "special_tokens_map.json", "vocab.*", "merges.txt", "spiece.model",
                   "added_tokens.json", "chat_template.*")


class ImportRefused(ValueError):
    """The folder is not an adapter the studio can use with its base (the message says why)."""


def check_name(name: str) -> str:
    """The name if it can be a folder name in the library, else ValueError saying what is allowed."""
    if not _NAME.match(name or "") or ".." in name:
        raise ValueError(f"adapter name {name!r}: use letters, digits, space, '.', '_', '+', '-' "
                         "(up to 100 characters, starting with a letter or digit)")
    return name


def import_adapter(db: Any, home: Home, path: str | Path, name: str | None = None,
                   base: str | None = None) -> dict[str, Any]:
    """Validate an adapter folder against its base, copy it into the library and register it."""
    src = Path(path).expanduser().resolve()
    try:
        info = describe(src)
    except ValueError as e:
        raise ImportRefused(str(e)) from None
    if info.problems:
        raise ImportRefused(f"{src}: " + "; ".join(info.problems))
    try:
        base_dir: Path | None = locate_base(base or info.base_ref, None if base else info.base_path)
    except LookupError:
        if info.kind != "full-model":  # a whole model loads without its base
            raise
        base_dir = None
    if base_dir is not None:
        diffs = check(info, base_dir)
        if diffs:
            raise ImportRefused(f"{src} does not fit the base {base_dir}:\n  {summary(diffs)}")
    default = re.sub(r"[^A-Za-z0-9 ._+-]+", "-", src.name).strip(" .-_+")[:80] or "adapter"
    name = check_name(name or store.unique_adapter_name(db, default))
    if store.unique_adapter_name(db, name) != name:
        raise ValueError(f"an adapter named {name!r} already exists")
    staged = staging_folder(home, "import", name)
    try:
        shutil.copytree(src, staged, ignore=shutil.ignore_patterns(".tmp-*", "__pycache__", PENDING))
        meta = studio_meta(info, base_dir, src, explicit_base=base is not None)
        (staged / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        if base_dir is not None and base_dir.is_dir() and not list(staged.glob("tokenizer*")):
            copy_tokenizer(base_dir, staged)  # the studio loads the tokenizer from the adapter folder
        return install(db, home, staged, name, row_for(describe(staged), source="imported"))
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def studio_meta(info: AdapterInfo, base_dir: Path | None, src: Path, explicit_base: bool) -> dict[str, Any]:
    """studio.json for an imported adapter: the one it has (base path updated), or one from PEFT's config."""
    meta = dict(info.studio_meta or {})
    base_path = str(base_dir) if base_dir is not None else None
    if meta:
        if base_path and (explicit_base or not Path(str(meta.get("base_model_path"))).exists()):
            meta["base_model_path"] = base_path
        meta.setdefault("imported_from", str(src))
        return meta
    config = base_dir / "config.json" if base_dir is not None and base_dir.is_dir() else None
    base_params = folder_facts(base_dir).params if config is not None else None
    return {
        "studio_version": __version__, "method": info.method, "method_options": method_options(info),
        "task": info.task, "base_model": info.base_ref or base_path, "base_model_path": base_path,
        "base_config_sha256": hashlib.sha256(config.read_bytes()).hexdigest() if config else None,
        "id2label": _labels(info, config), "training": None,
        "trainable_params": info.trainable_params,
        "total_params": (base_params or 0) + (info.trainable_params if info.kind == "peft" else 0) or None,
        "steps": None, "final_metrics": {}, "source": "imported", "imported_from": str(src),
    }


def method_options(info: AdapterInfo) -> dict[str, Any]:
    """The studio method options that describe a plain PEFT adapter (best effort; for display)."""
    s = info.settings
    listed = lambda v: list(v) if isinstance(v, list) else None  # noqa: E731 - a PEFT regex has no list form
    if info.method in ("lora", "dora"):
        return {"r": s.get("r"), "alpha": s.get("alpha"), "dropout": s.get("dropout"),
                "target_modules": listed(s.get("target_modules"))}
    if info.method == "ia3":
        return {"target_modules": listed(s.get("target_modules")),
                "feedforward_modules": listed(s.get("feedforward_modules"))}
    if info.method in ("prefix", "prompt"):
        keys = ("num_virtual_tokens", "prefix_projection") if info.method == "prefix" else ("num_virtual_tokens",)
        return {k: s[k] for k in keys if k in s}
    return dict(s)


def _labels(info: AdapterInfo, base_config: Path | None) -> dict[str, str] | None:
    """id2label for a classifier adapter: the base's names when the count matches, else LABEL_i."""
    if info.id2label or info.task != "classification":
        return info.id2label
    finals = [s for n, s in info.tensors.items() if n in head_tensors(info.tensors) and len(s) == 2]
    if not finals:
        return None
    count = min(s[0] for s in finals)  # a two-layer head's last layer is the narrow one
    names = json.loads(base_config.read_text()).get("id2label") if base_config else None
    if isinstance(names, dict) and len(names) == count:
        return {str(k): v for k, v in names.items()}
    return {str(i): f"LABEL_{i}" for i in range(count)}


def copy_tokenizer(base_dir: Path, target: Path) -> None:
    """Copy the base's tokenizer files into an adapter folder."""
    for pattern in TOKENIZER_FILES:
        for f in base_dir.glob(pattern):
            if f.is_file():
                shutil.copy2(f, target / f.name)


def row_for(info: AdapterInfo, source: str) -> dict[str, Any]:
    """register_adapter's fields for a described folder."""
    meta = info.studio_meta or {}
    return {"method": info.method, "base_model": info.base_ref, "task": info.task,
            "trainable_params": info.trainable_params, "total_params": meta.get("total_params"),
            "metrics": info.metrics, "source": source, "dataset": info.dataset, "settings": info.settings,
            "imported_at": now() if source == "imported" else None}


def staging_folder(home: Home, kind: str, name: str) -> Path:
    """A fresh hidden folder inside the library (same filesystem: the final move is one rename)."""
    home.adapters_dir.mkdir(parents=True, exist_ok=True)
    staged = home.adapters_dir / f".{kind}-{name}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    return staged


def install(db: Any, home: Home, staged: Path, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Move a complete staged folder into the library under `name` and register it, together."""
    final = home.adapter_dir(check_name(name))
    (staged / PENDING).write_text(str(os.getpid()))
    size = folder_size(staged)
    moved = False
    try:
        with transaction(db):
            if final.exists():
                raise ValueError(f"the library already has a folder {final}")
            store.register_adapter(db, name=name, path=str(final), size_bytes=size, **fields)
            os.replace(staged, final)
            moved = True
    except BaseException:
        if moved:  # the row did not commit: the folder must not stay
            shutil.rmtree(final, ignore_errors=True)
        raise
    (final / PENDING).unlink(missing_ok=True)
    return store.get_adapter(db, name)


def remove_adapter(db: Any, home: Home, name: str) -> None:
    """Delete an adapter's row and its folder together (see the module docstring for the order)."""
    row = store.get_adapter(db, name)
    folder = Path(row["path"])
    trash = folder.with_name(f".trash-{folder.name}-{os.getpid()}")
    moved = False
    try:
        with transaction(db):
            store.delete_adapter(db, name)
            if folder.exists():
                os.replace(folder, trash)
                moved = True
    except BaseException:
        if moved:
            os.replace(trash, folder)
        raise
    shutil.rmtree(trash, ignore_errors=True)


def rename_adapter(db: Any, home: Home, old: str, new: str) -> dict[str, Any]:
    """Rename an adapter: its row and, when it lives in the library under its name, its folder."""
    check_name(new)
    folder = Path(store.get_adapter(db, old)["path"])
    owned = folder.parent == home.adapters_dir and folder.name == old
    target = home.adapter_dir(new) if owned else folder
    moved = False
    try:
        with transaction(db):
            store.rename_adapter(db, old, new, target)
            if owned and folder.exists():
                if target.exists():
                    raise ValueError(f"the library already has a folder {target}")
                os.replace(folder, target)
                moved = True
    except BaseException:
        if moved:
            os.replace(target, folder)
        raise
    return store.get_adapter(db, new)


def set_notes(db: Any, name: str, notes: str | None) -> None:
    """Replace an adapter's notes."""
    store.update_adapter(db, name, notes=notes or None)


def set_tags(db: Any, name: str, tags: list[str]) -> None:
    """Replace an adapter's tags (trimmed, duplicates dropped, order kept)."""
    clean = list(dict.fromkeys(t.strip() for t in tags if t and t.strip()))
    store.update_adapter(db, name, tags=clean)


def find(db: Any, search: str | None = None, method: str | None = None, base: str | None = None,
         task: str | None = None, tag: str | None = None) -> list[dict[str, Any]]:
    """Library rows (newest first) matching a free-text search and exact filters, settings filled in."""
    rows = [fill_in(r) for r in store.list_adapters(db)]
    text = (search or "").strip().lower()
    return [r for r in rows
            if (not text or text in _haystack(r)) and (method is None or r.get("method") == method)
            and (base is None or r.get("base_model") == base) and (task is None or r.get("task") == task)
            and (tag is None or tag in r.get("tags", []))]


def _haystack(row: dict[str, Any]) -> str:
    keys = ("name", "method", "base_model", "task", "notes", "dataset", "source", "settings_text")
    return " ".join([str(row.get(k) or "") for k in keys] + list(row.get("tags") or [])).lower()


def fill_in(row: dict[str, Any]) -> dict[str, Any]:
    """A row with settings/dataset read from its folder when the store lacks them, and settings_text."""
    folder = Path(row["path"])
    row["missing"] = not folder.is_dir()
    if not row.get("settings") and not row["missing"]:  # trained rows: the folder has both
        try:
            info = describe(folder)
            row["settings"] = row.get("settings") or info.settings
            row["dataset"] = row.get("dataset") or info.dataset
        except ValueError:
            pass  # listed as it is; `show` reports what is wrong with the folder
    row["settings_text"] = settings_text(row.get("method"), row.get("settings") or {})
    return row


def resolve(db: Any, ref: str) -> Path:
    """The folder of a library adapter by name, or `ref` itself when it is an adapter folder."""
    try:
        return Path(store.get_adapter(db, ref)["path"])
    except LookupError:
        if Path(ref).expanduser().is_dir():
            return Path(ref).expanduser().resolve()
        raise


def recover(db: Any, home: Home) -> list[str]:
    """Settle what a crash left in the library folder; returns what was done (one line each)."""
    import psutil

    done: list[str] = []
    if not home.adapters_dir.is_dir():
        return done
    with transaction(db):  # installs and removals hold this lock across their rename and commit
        names = {r["name"]: Path(r["path"]) for r in store.list_adapters(db)}
        for d in sorted(home.adapters_dir.iterdir()):
            m = re.match(r"^\.(import|merge|trash)-(.+)-(\d+)$", d.name)
            if m and not psutil.pid_exists(int(m.group(3))):
                if m.group(1) == "trash" and m.group(2) in names and not names[m.group(2)].exists():
                    os.replace(d, names[m.group(2)])
                    done.append(f"restored {names[m.group(2)]} (its removal never committed)")
                else:
                    shutil.rmtree(d, ignore_errors=True)
                    done.append(f"deleted leftover {d}")
            elif not d.name.startswith(".") and (d / PENDING).exists():
                if d in names.values():
                    (d / PENDING).unlink(missing_ok=True)
                else:
                    shutil.rmtree(d, ignore_errors=True)
                    done.append(f"deleted {d} (its registration never committed)")
    return done
