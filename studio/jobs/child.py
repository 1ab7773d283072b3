"""How a `studio` child process is started so that it runs this very studio, whatever its cwd.

`python -m studio` puts the current directory first on sys.path: a folder named `studio` there (a
user's project, a download) would be imported instead of ours. Children therefore run with -P (no
cwd, no script dir on sys.path) and find studio through PYTHONPATH, which names the folder holding
the package this process imported — the same code as the window, installed or a source checkout.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import studio


def python_prefix() -> list[str]:
    """The interpreter and its flags for a `-m` child (empty in a frozen build: it runs itself)."""
    if getattr(sys, "frozen", False):
        return []
    return [sys.executable, "-P"]


def package_root() -> Path:
    """The folder that holds this process's `studio` package."""
    return Path(studio.__file__).resolve().parent.parent


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """base (default os.environ) with this studio's folder first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    root = str(package_root())
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    return env
