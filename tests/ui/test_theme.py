"""Dark and light themes: Fusion palettes on the application, plots restyled, the system followed."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from studio.ui import theme
from studio.ui.widgets.live_plot import LivePlot, pg

Role = QPalette.ColorRole


@pytest.fixture
def restore_app_look(qapp):
    """Put the shared QApplication's style, palette and pyqtgraph options back after a test."""
    style, palette = qapp.style().name(), qapp.palette()
    options = dict(pg.CONFIG_OPTIONS)
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setProperty("studio_theme", None)
    pg.setConfigOptions(**{k: options[k] for k in ("background", "foreground", "antialias")})


def lightness(color) -> float:
    return color.lightnessF()


def plot_background(plot: LivePlot):
    return plot.backgroundBrush().color()


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_palette_applies_and_new_plots_match(qtbot, restore_app_look, scheme):
    app = restore_app_look
    theme.apply_theme(app, scheme)
    assert app.style().name().lower() == "fusion" and theme.current_theme(app) == scheme
    window, text = app.palette().color(Role.Window), app.palette().color(Role.WindowText)
    dark = scheme == "dark"
    assert (lightness(window) < 0.3) == dark and (lightness(text) > 0.7) == dark
    plot = LivePlot("Loss", {"train_loss": ("train", "#1f77b4")})
    qtbot.addWidget(plot)
    assert plot_background(plot) == app.palette().color(Role.Base)
    assert (lightness(plot_background(plot)) < 0.3) == dark


def test_existing_plots_follow_a_switch(qtbot, restore_app_look):
    app = restore_app_look
    theme.apply_theme(app, "light")
    plot = LivePlot("Loss", {"train_loss": ("train", "#1f77b4")})
    qtbot.addWidget(plot)
    plot.append("train_loss", [1, 2], [1.0, 0.5])
    plot.flush()  # the legend gets its first entry
    assert lightness(plot_background(plot)) > 0.7
    theme.apply_theme(app, "dark")
    assert plot_background(plot) == theme.dark_palette().color(Role.Base)
    text = theme.dark_palette().color(Role.Text)
    assert plot.getPlotItem().getAxis("bottom").textPen().color() == text
    assert text.name() in plot.getPlotItem().titleLabel.item.toHtml()
    legend = plot.getPlotItem().legend
    assert legend.opts["labelTextColor"].name() == text.name()
    theme.apply_theme(app, "light")
    assert lightness(plot_background(plot)) > 0.7


def test_watcher_follows_the_system_unless_forced(qtbot, restore_app_look):
    app = restore_app_look
    watcher = theme.ThemeWatcher(app)  # offscreen reports no scheme: light
    assert theme.current_theme(app) == "light"
    watcher.on_scheme_changed(Qt.ColorScheme.Dark)
    assert theme.current_theme(app) == "dark"
    watcher.on_scheme_changed(Qt.ColorScheme.Light)
    assert theme.current_theme(app) == "light"
    watcher.deleteLater()
    forced = theme.ThemeWatcher(app, forced="dark")
    forced.on_scheme_changed(Qt.ColorScheme.Light)
    assert theme.current_theme(app) == "dark"
    forced.deleteLater()


def test_override_from_the_environment(monkeypatch):
    monkeypatch.delenv(theme.ENV_VAR, raising=False)
    assert theme.override() is None
    for value, expected in (("Dark", "dark"), ("light", "light"), ("system", None)):
        monkeypatch.setenv(theme.ENV_VAR, value)
        assert theme.override() == expected
    monkeypatch.setenv(theme.ENV_VAR, "purple")
    with pytest.raises(ValueError, match="STUDIO_THEME"):
        theme.override()
    with pytest.raises(ValueError):
        theme.palette_for("purple")


def test_disabled_text_is_quieter_in_the_dark_palette():
    palette = theme.dark_palette()
    normal = palette.color(QPalette.ColorGroup.Active, Role.Text)
    disabled = palette.color(QPalette.ColorGroup.Disabled, Role.Text)
    assert lightness(disabled) < lightness(normal)
