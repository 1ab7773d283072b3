"""The in-app help's text: the README's method guide (shipped as a resource, kept equal to the README by
a test) and the first-run walkthrough. `python3 -m studio.ui.widgets.help_content` re-copies the guide."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from studio.resource_files import readme_path, resource_path

METHODS_TITLE = "Methods"  # the README section shipped as the method guide


def help_file(name: str) -> Path:
    """A file under studio/resources/help/."""
    return resource_path("help", name)


def readme_section(text: str, title: str) -> str:
    """A '## title' section of a Markdown text, heading included, up to the next '## ' heading."""
    match = re.search(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"README has no '## {title}' section")
    return match.group(0).rstrip() + "\n"


def methods_guide() -> str:
    """The method guide (Markdown) as shipped with the app."""
    return help_file("methods.md").read_text(encoding="utf-8")


def first_run() -> str:
    """The first-run walkthrough (Markdown)."""
    return help_file("first_run.md").read_text(encoding="utf-8")


def sync_methods_guide(readme: Path | None = None) -> bool:
    """Copy the README's method section into the shipped guide; True if it changed."""
    section = readme_section((readme or readme_path()).read_text(encoding="utf-8"), METHODS_TITLE)
    target = help_file("methods.md")
    if target.is_file() and target.read_text(encoding="utf-8") == section:
        return False
    target.write_text(section, encoding="utf-8")
    return True


if __name__ == "__main__":
    print("updated" if sync_methods_guide() else "already equal", help_file("methods.md"))
    sys.exit(0)
