"""Dark and light themes that follow the system's colour scheme: Fusion, a palette, matching plots."""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from studio.ui.widgets import live_plot
from studio.ui.widgets.live_plot import pg

ENV_VAR = "STUDIO_THEME"  # dark | light | system (the default)
SCHEMES = ("dark", "light")

Role, Group = QPalette.ColorRole, QPalette.ColorGroup

# A neutral grey dark palette in the spirit of Fusion's own colours; the accent is the light one's.
DARK_COLORS = {
    Role.Window: "#2d2d2d", Role.WindowText: "#e6e6e6", Role.Base: "#1f1f1f",
    Role.AlternateBase: "#282828", Role.ToolTipBase: "#3a3a3a", Role.ToolTipText: "#f0f0f0",
    Role.PlaceholderText: "#8a8a8a", Role.Text: "#e6e6e6", Role.Button: "#353535",
    Role.ButtonText: "#e6e6e6", Role.BrightText: "#ff6b6b", Role.Light: "#4a4a4a",
    Role.Midlight: "#3e3e3e", Role.Mid: "#262626", Role.Dark: "#1a1a1a", Role.Shadow: "#0d0d0d",
    Role.Highlight: "#2f7fd0", Role.HighlightedText: "#ffffff", Role.Link: "#5aa9ff",
    Role.LinkVisited: "#b18cff",
}
DARK_DISABLED = {Role.WindowText: "#7a7a7a", Role.Text: "#7a7a7a", Role.ButtonText: "#7a7a7a",
                 Role.Highlight: "#4a4a4a", Role.HighlightedText: "#a0a0a0"}


def dark_palette() -> QPalette:
    """The dark palette (all colour groups; disabled text greyed)."""
    palette = QPalette()
    for role, color in DARK_COLORS.items():
        palette.setColor(role, QColor(color))
    for role, color in DARK_DISABLED.items():
        palette.setColor(Group.Disabled, role, QColor(color))
    return palette


def light_palette() -> QPalette:
    """Fusion's own light palette."""
    return QStyleFactory.create("Fusion").standardPalette()


def palette_for(scheme: str) -> QPalette:
    """The palette of 'dark' or 'light'."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown theme {scheme!r}; expected dark or light")
    return dark_palette() if scheme == "dark" else light_palette()


def override() -> str | None:
    """'dark' or 'light' when STUDIO_THEME forces one, else None (follow the system)."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "system", "auto"):
        return None
    if value not in SCHEMES:
        raise ValueError(f"{ENV_VAR}={value!r}: expected dark, light or system")
    return value


def system_scheme() -> str:
    """The desktop's colour scheme; 'light' when the platform does not say (e.g. offscreen, X11)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, scheme: str) -> None:
    """Fusion with the scheme's palette on the application, and every plot restyled to match."""
    palette = palette_for(scheme)
    app.setStyle("Fusion")
    app.setPalette(palette)
    app.setProperty("studio_theme", scheme)
    live_plot.configure(palette)  # plots made from now on
    for widget in app.allWidgets():
        if isinstance(widget, pg.PlotWidget):
            restyle_plot(widget, palette)


def restyle_plot(plot: pg.PlotWidget, palette: QPalette) -> None:
    """Recolour an existing plot: background, axes, title, legend (pyqtgraph reads colours once)."""
    base, text = palette.color(Role.Base), palette.color(Role.Text)
    item = plot.getPlotItem()
    if item is None:
        return  # being torn down (pyqtgraph drops its items on close)
    plot.setBackground(base)
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
    if item.titleLabel.isVisible():
        item.titleLabel.setText(item.titleLabel.text, color=text)
    legend = getattr(item, "legend", None)
    if legend is not None:
        backing = QColor(base)
        backing.setAlpha(200)
        legend.setBrush(backing)
        legend.setLabelTextColor(text)


def current_theme(app: QApplication) -> str | None:
    """The scheme last applied by apply_theme, if any."""
    value = app.property("studio_theme")
    return value if value in SCHEMES else None


class ThemeWatcher(QObject):
    """Applies the system's scheme now and again whenever it changes (unless STUDIO_THEME forces one)."""

    def __init__(self, app: QApplication, forced: str | None = None) -> None:
        super().__init__(app)
        self._app, self.forced = app, forced
        apply_theme(app, forced or system_scheme())
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.on_scheme_changed)

    def on_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """The desktop switched dark/light: follow it, unless a theme was forced."""
        if self.forced is None:
            apply_theme(self._app, "dark" if scheme == Qt.ColorScheme.Dark else "light")


def install_theme(app: QApplication) -> ThemeWatcher:
    """Theme the application from STUDIO_THEME or the system and keep following the system."""
    return ThemeWatcher(app, override())
