"""Atomic checkpoints: written to a staging folder, fsynced, marked complete, then renamed into place.

A folder under checkpoints/ without the marker can only come from a crash mid-rename on an odd
filesystem; it is ignored and cleaned, so resume always starts from a *complete* checkpoint.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

MARKER = "COMPLETE"
STAGING = ".staging"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoints_dir(run_dir: Path) -> Path:
    """Where a run's complete checkpoints live."""
    return Path(run_dir) / "checkpoints"


def staging_dir(run_dir: Path) -> Path:
    """Where the Trainer writes a checkpoint before it is complete."""
    return Path(run_dir) / STAGING


def _fsync_tree(folder: Path) -> None:
    """Flush every file and the folders themselves, so a power cut cannot leave empty files."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staged: Path, run_dir: Path, step: int) -> Path:
    """Mark a fully written staged checkpoint complete and move it into checkpoints/ atomically."""
    (staged / MARKER).write_text(str(step))
    _fsync_tree(staged)
    target_parent = checkpoints_dir(run_dir)
    target_parent.mkdir(parents=True, exist_ok=True)
    target = target_parent / f"checkpoint-{step}"
    if target.exists():  # a resumed run re-saving the step it resumed from
        shutil.rmtree(target)
    os.replace(staged, target)
    _fsync_dir(target_parent)
    return target


def complete_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint, ascending by step."""
    found = []
    parent = checkpoints_dir(run_dir)
    if parent.is_dir():
        for child in parent.iterdir():
            m = _NAME.match(child.name)
            if m and (child / MARKER).is_file():
                found.append((int(m.group(1)), child))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    """The newest complete checkpoint, if any."""
    found = complete_checkpoints(run_dir)
    return found[-1] if found else None


def rotate(run_dir: Path, keep: int) -> list[int]:
    """Delete all but the newest `keep` complete checkpoints; return the deleted steps."""
    found = complete_checkpoints(run_dir)
    doomed = found[:-keep] if keep > 0 else found
    for _step, folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return [s for s, _ in doomed]


def clean_leftovers(run_dir: Path) -> None:
    """Remove the staging area and incomplete checkpoint folders left by a crash."""
    shutil.rmtree(staging_dir(run_dir), ignore_errors=True)
    parent = checkpoints_dir(run_dir)
    if parent.is_dir():
        for child in parent.iterdir():
            if child.is_dir() and not (child / MARKER).is_file():
                shutil.rmtree(child, ignore_errors=True)
