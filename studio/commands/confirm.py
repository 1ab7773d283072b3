"""The yes/no question a destructive command asks before it deletes anything."""
from __future__ import annotations

import sys


def refused(what: str, question: str, yes: bool) -> int | None:
    """None when deleting `what` may go ahead (--yes, or the user typed y); else the exit code to return.

    Without a terminal there is nobody to ask, so nothing is deleted without --yes."""
    if yes:
        return None
    if not sys.stdin.isatty():
        print(f"studio: refusing to delete {what} without --yes (stdin is not a terminal)", file=sys.stderr)
        return 2
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        print("kept")
        return 1
    return None
