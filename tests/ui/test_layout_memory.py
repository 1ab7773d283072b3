"""The window remembers its size, last page and splitters in QSettings (a temp .ini, never the user's)."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSplitter

from studio.ui.main_window import PAGES, START_PAGE, MainWindow
from studio.ui.settings import DEFAULT_SIZE, open_settings, splitters, unnamed_splitters
from tests.ui.conftest import make_run


def open_window(qtbot, db, home, settings: QSettings) -> MainWindow:
    window = MainWindow(db, home, settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_size_page_and_splitters_come_back(qtbot, store, home, tmp_path):
    make_run(store, name="one", status="completed")
    ini = tmp_path / "studio.ini"
    window = open_window(qtbot, store, home, open_settings(ini))
    assert (window.width(), window.height()) == DEFAULT_SIZE  # nothing saved yet
    found = splitters(window.pages)
    assert found, "the pages have splitters to remember"
    # Qt fits a restored geometry on the screen (offscreen: 800x800); the window's minimum width
    # fits nowhere smaller, so the height is what tells a restored size from the default here.
    target = (window.minimumSizeHint().width(), 650)
    window.resize(*target)
    qtbot.waitUntil(lambda: window.height() == 650)
    wanted = {}
    for key, split in found.items():
        window.show_page(key.split("/")[0])  # a splitter lays out only while its page is on show
        qtbot.wait(20)
        if not split.isVisible() or sum(split.sizes()) < 150:
            continue  # e.g. inside a detail pane that waits for a selection
        total = sum(split.sizes())
        split.setSizes([total - 60] + [60] * (split.count() - 1))
        wanted[key] = split.sizes()
    window.show_page(PAGES[-1])
    window.close()
    assert ini.is_file()

    again = open_window(qtbot, store, home, open_settings(ini))
    # Pages are built when first shown, and the page shown now may need more width than the one
    # on show when the size was saved: the height tells that the saved geometry came back.
    assert again.height() == target[1]
    assert again.current_page == PAGES[-1]
    restored = splitters(again.pages)
    for key, sizes in wanted.items():
        again.show_page(key.split("/")[0])
        qtbot.waitUntil(lambda k=key, s=sizes: abs(restored[k].sizes()[-1] - s[-1]) <= 2, timeout=2000)
    assert any(key.startswith("runs/") for key in wanted), "the runs page splitters were checked"


def test_unknown_or_broken_values_fall_back(qtbot, store, home, tmp_path):
    settings = open_settings(tmp_path / "broken.ini")
    settings.setValue("window/geometry", "not a geometry")
    settings.setValue("window/page", "no-such-page")
    settings.setValue("splitters/runs/splitter0", 42)
    window = open_window(qtbot, store, home, settings)
    assert (window.width(), window.height()) == DEFAULT_SIZE and window.current_page == START_PAGE


def test_without_settings_nothing_is_written(qtbot, store, home, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_SETTINGS", str(tmp_path / "env.ini"))
    assert open_settings().fileName() == str(tmp_path / "env.ini")
    window = open_window(qtbot, store, home, None)
    window.close()
    assert not (tmp_path / "env.ini").exists()


def test_splitter_keys_are_stable(qtbot, store, home):
    window = open_window(qtbot, store, home, None)
    keys = list(splitters(window.pages))
    other = open_window(qtbot, store, home, None)
    assert list(splitters(other.pages)) == keys
    assert all(key.split("/")[0] in PAGES for key in keys)
    named = QSplitter(window.pages[PAGES[0]])
    named.setObjectName("extra")
    assert f"{PAGES[0]}/extra" in splitters(window.pages)
    assert f"{PAGES[0]}/extra" not in unnamed_splitters(window.pages)
