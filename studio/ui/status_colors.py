"""Run and adapter status colours, one set per theme (the light set is too dark on a dark base), and
small round dots that show the colour beside the status text in tables."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap

# Blue: active; purple: waiting; amber: paused; red: failed; pink-red: crashed; green: done; grey: off.
STATUS_COLORS = {
    "light": {"running": "#1565c0", "queued": "#6a1b9a", "paused": "#a15c00", "failed": "#c62828",
              "crashed": "#ad1457", "completed": "#2e7d32", "cancelled": "#616161", "missing": "#c62828"},
    "dark": {"running": "#64b5f6", "queued": "#ce93d8", "paused": "#ffb74d", "failed": "#ef5350",
             "crashed": "#f06292", "completed": "#81c784", "cancelled": "#a0a0a0", "missing": "#ef5350"},
}
DOT_SIZE = 10
SELECTED_RING = "#ffffff"


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether a palette (default: the application's) has a dark base."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def status_color(status: str, palette: QPalette | None = None) -> QColor | None:
    """The colour of a status for the palette's scheme; None for a status without one."""
    value = STATUS_COLORS["dark" if is_dark(palette) else "light"].get(status)
    return QColor(value) if value else None


def _dot_pixmap(color: str, ring: str | None) -> QPixmap:
    pixmap = QPixmap(DOT_SIZE, DOT_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(ring), 1.5) if ring else Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(QRectF(1, 1, DOT_SIZE - 2, DOT_SIZE - 2))
    painter.end()
    return pixmap


@lru_cache(maxsize=64)
def _dot(color: str) -> QIcon:
    icon = QIcon(_dot_pixmap(color, None))
    # A selected row is drawn in the highlight colour (blue): the blue 'running' dot vanished on it, so
    # the selected dot gets a white ring (views paint a selected item's icon in Selected mode).
    icon.addPixmap(_dot_pixmap(color, SELECTED_RING), QIcon.Mode.Selected)
    return icon


def status_dot(status: str, palette: QPalette | None = None) -> QIcon | None:
    """A round dot in the status colour (for DecorationRole), or None."""
    color = status_color(status, palette)
    return _dot(color.name()) if color is not None else None
