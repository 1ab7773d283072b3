"""The visual pass (issue 12, item 15): sidebar icons, status colours readable in both themes (colour and
text), empty states that say what to do next with a button that does it."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon

from studio.ui.main_window import PAGES, MainWindow
from studio.ui.pages.adapters import AdaptersPage
from studio.ui.pages.compare import ComparePage
from studio.ui.pages.runs import NO_RUNS, RunsPage
from studio.ui.status_colors import STATUS_COLORS, status_color, status_dot
from studio.ui.theme import palette_for
from studio.ui.widgets.nav_icons import icon_file
from studio.ui.widgets.runs_table import COLUMNS
from tests.ui.conftest import make_run

STATUSES = ("running", "queued", "paused", "failed", "crashed", "completed", "cancelled")


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def _contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_status_colours_readable_on_both_themes(qapp):
    for scheme in ("light", "dark"):
        palette = palette_for(scheme)
        base = palette.color(palette.ColorRole.Base)
        for status in STATUSES:
            color = status_color(status, palette)
            assert color == QColor(STATUS_COLORS[scheme][status])
            assert _contrast(color, base) >= 4.5, (scheme, status, color.name(), base.name())  # WCAG AA
    # Each status its own colour (failed and crashed too), so the colour alone already tells them apart.
    assert len({STATUS_COLORS["light"][s] for s in STATUSES}) == len(STATUSES)
    assert status_color("nonsense") is None and status_dot("nonsense") is None


def test_runs_table_shows_colour_dot_and_text(qtbot, store, home):
    page = RunsPage(store, home)
    qtbot.addWidget(page)
    make_run(store, name="a", status="failed", error="boom")
    page.refresh()
    index = page.model.index(0, COLUMNS.index("Status"))
    assert "failed" in page.model.data(index)
    assert isinstance(page.model.data(index, Qt.ItemDataRole.DecorationRole), QIcon)
    assert page.model.data(index, Qt.ItemDataRole.ForegroundRole) == status_color("failed")


def test_every_page_has_a_sidebar_icon(qtbot, store, home):
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    for row, name in enumerate(PAGES):
        assert icon_file(name).is_file(), name
        assert not window.nav.item(row).icon().isNull(), name
    assert icon_file("chat").is_file()  # drawn for the Chat page too


def test_runs_empty_state_offers_new_run(qtbot, store, home):
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    window.show()
    window.show_page("runs")
    page = window.pages["runs"]
    page.refresh()
    assert page.empty.isVisible() and not page.table.isVisible()
    assert "studio train" not in NO_RUNS and "Ctrl+N" in page.empty.button.text()
    page.empty.button.click()
    assert window.current_page == "wizard"
    make_run(store, name="first")
    page.refresh()
    window.show_page("runs")
    assert not page.empty.isVisible() and page.table.isVisible()


def test_adapters_and_compare_empty_states(qtbot, store, home):
    adapters = AdaptersPage(store, home)
    qtbot.addWidget(adapters)
    adapters.show()
    adapters.refresh()
    qtbot.waitUntil(lambda: not adapters.busy)
    assert adapters.empty.isVisible() and not adapters.splitter.isVisible()
    assert "New run" in adapters.empty.hint.text() and "Import" in adapters.empty.button.text()
    compare = ComparePage(store, home)
    qtbot.addWidget(compare)
    compare.show()
    assert compare.empty.isVisible() and not compare.tabs.isVisible()
    hint = compare.empty.hint  # every wrapped line fits (the last one was cut off)
    assert hint.height() >= hint.heightForWidth(hint.width()) > 3 * hint.fontMetrics().lineSpacing()
    assert "adapters" in compare.empty.hint.text()
