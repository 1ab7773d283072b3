"""Render studio/resources/icons/studio.svg to the PNG sizes desktops and installers ask for.

    python packaging/make_icons.py    # rewrites studio/resources/icons/studio-<size>.png

The PNGs are committed, so building the app never needs this script; run it after editing the SVG.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parents[1] / "studio" / "resources" / "icons"


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write studio-<size>.png for each size; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841  # QImage needs one
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out_dir / f"studio-{size}.png"
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"make_icons: could not write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in render(ICONS / "studio.svg", ICONS):
        print(p)
