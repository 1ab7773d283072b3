"""`studio gui | demo`: the window (the default command), and the headless demo."""
from __future__ import annotations

import os
import sys


def register(sub) -> None:
    """Add this module's subcommands."""
    g = sub.add_parser("gui", help="open the main window (the default command)")
    g.add_argument("--screenshot", metavar="PATH", help="render the window to a PNG file and exit")
    g.add_argument("--page", help="the page to show first (e.g. runs, adapters)")
    g.set_defaults(run=run_gui, needs_db=False)
    d = sub.add_parser("demo", help="fine-tune a bundled sample model and show before/after")
    d.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the demo's own)")
    d.set_defaults(run=run_demo, needs_db=False)


def run_gui(args, home, db) -> int:
    screenshot, page = getattr(args, "screenshot", None), getattr(args, "page", None)
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a PNG needs no display
    has_display = (sys.platform in ("win32", "darwin") or os.environ.get("DISPLAY")
                   or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
    if not has_display:
        print("studio: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "running `studio demo` instead.", file=sys.stderr)
        return run_demo(args, home, db)
    from studio.ui.app import run_app

    return run_app(home, screenshot=screenshot, page=page)


def run_demo(args, home, db) -> int:
    from studio.demo import run_demo as demo

    return demo(home, steps=getattr(args, "steps", None))
