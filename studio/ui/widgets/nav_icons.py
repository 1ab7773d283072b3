"""The sidebar's page icons: line drawings (resources/icons/nav/NAME.svg) recoloured to the theme's text
colour, white-on-accent when selected (one drawing serves light and dark)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from studio.resource_files import resource_path

PLACEHOLDER = "#000000"  # the stroke colour the drawings are saved with
RENDER_PX = 40  # drawn at twice the shown size so they stay sharp on high-DPI screens


def icon_file(name: str):
    """The drawing of a page (may not exist for a page added later)."""
    return resource_path("icons", "nav", f"{name}.svg")


def _pixmap(svg: str, color: str) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace(PLACEHOLDER, color).encode()))
    pixmap = QPixmap(RENDER_PX, RENDER_PX)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, RENDER_PX, RENDER_PX))
    painter.end()
    return pixmap


def nav_icon(name: str, palette: QPalette) -> QIcon | None:
    """The page's icon in the palette's text colour (selected: highlighted-text colour); None if none."""
    path = icon_file(name)
    if not path.is_file():
        return None
    svg = path.read_text(encoding="utf-8")
    icon = QIcon()
    normal = palette.color(QPalette.ColorRole.Text).name()
    selected = palette.color(QPalette.ColorRole.HighlightedText).name()
    icon.addPixmap(_pixmap(svg, normal), QIcon.Mode.Normal)
    icon.addPixmap(_pixmap(svg, selected), QIcon.Mode.Selected)
    return icon
