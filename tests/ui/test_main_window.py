"""The main window: pages, shortcuts, status bar, About; the app entry; no heavy imports."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from studio import __version__
from studio.ui import main_window
from studio.ui.main_window import PAGE_TITLES, PAGES, START_PAGE, MainWindow, about_text, help_text
from tests.ui.conftest import make_run

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "datasets", "bitsandbytes", "accelerate")
SLOW_TO_IMPORT = ("pandas",)  # sqlite-utils would import it; studio/store/sqlite_utils_import.py keeps it out


def build(qtbot, db, home) -> MainWindow:
    window = MainWindow(db, home)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def activate(qtbot, window: MainWindow) -> None:
    """Make the window active so its shortcuts fire (activation events must settle first)."""
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.wait(50)


def test_pages_status_bar_and_shortcuts(qtbot, store, home):
    window = build(qtbot, store, home)
    assert list(window.pages) == list(PAGES) and window.nav.count() == len(PAGES)
    assert window.current_page == START_PAGE
    assert str(home.root) in window.home_label.text()
    shown = PAGES[:9]  # Ctrl+1 … Ctrl+9 for the first nine pages, whatever they are
    assert [a.shortcut() for a in window.page_actions[:9]] == [QKeySequence(f"Ctrl+{i + 1}") for i in range(len(shown))]
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.refresh_action.shortcut() == QKeySequence("F5")
    assert window.new_run_action.shortcut() == QKeySequence("Ctrl+N")
    assert window.help_action.shortcut() == QKeySequence("F1")
    activate(qtbot, window)
    for i, name in reversed(list(enumerate(shown))):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1.value + i), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page == name and window.stack.currentWidget() is window.pages[name]
    window.nav.setCurrentRow(len(PAGES) - 1)
    assert window.current_page == PAGES[-1]


def test_ctrl_n_shows_the_wizard_when_there_is_one(qtbot, store, home, monkeypatch):
    window = build(qtbot, store, home)
    assert window.new_run_action.isEnabled() == ("wizard" in window.pages)
    if "wizard" not in window.pages:
        window.new_run()
        assert "wizard" in window.statusBar().currentMessage()
    # Whatever page plays the wizard, Ctrl+N goes there.
    monkeypatch.setattr(main_window, "NEW_RUN_PAGE", PAGES[-1])
    window = build(qtbot, store, home)
    assert window.new_run_action.isEnabled()
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page == PAGES[-1]


def test_f1_shows_help_with_every_shortcut(qtbot, store, home):
    window = build(qtbot, store, home)
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    box = window.help_box
    qtbot.waitUntil(lambda: box is not None and box.isVisible())
    text = box.text()
    for keys in ("Ctrl+1", "F5", "Ctrl+Q", "F1") + tuple(PAGE_TITLES[name] for name in PAGES[:9]):
        assert keys in text, keys
    assert "README" in text
    help_menu = window.menuBar().actions()[-1].menu()
    assert help_menu.title() == "&Help" and window.help_action in help_menu.actions()
    box.close()
    assert not box.isVisible()


def test_help_text_names_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    assert "README.md in the" in help_text([("F5", "Refresh")], readme)
    readme.write_text("# hi")
    text = help_text([("F5", "Refresh")], readme)
    assert readme.as_uri() in text and "<b>F5</b>" in text


def test_f5_refreshes_the_page_on_show(qtbot, store, home):
    window = build(qtbot, store, home)
    runs_page = window.pages["runs"]
    window.show_page("runs")
    make_run(store, name="late")
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert runs_page.model.rowCount() == 1


def test_ctrl_q_closes(qtbot, store, home):
    window = build(qtbot, store, home)
    window.quit_action.trigger()
    assert not window.isVisible()


def test_about_text(store, home):
    text = about_text(home)
    assert __version__ in text and "Qt" in text and "pyqtgraph" in text and str(home.root) in text
    assert sys.version.split()[0] in text


def test_screenshot_writes_a_png(qtbot, home, tmp_path):
    from studio.ui.app import run_app

    shot = tmp_path / "shots" / "window.png"
    assert run_app(home, screenshot=str(shot), page="adapters") == 0
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


CHECK_IMPORTS = f"""
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
import studio.ui.app, studio.ui.theme, studio.ui.settings, studio.ui.widgets.error_dialog
from studio.paths import Home
from studio.store import open_db
from studio.ui.main_window import PAGES, MainWindow
app = QApplication([])
home = Home(Path(sys.argv[1])).ensure()
window = MainWindow(open_db(home.db_path), home)
window.show()
for page in PAGES:
    window.show_page(page)
    app.processEvents()
print(",".join(m for m in {HEAVY + SLOW_TO_IMPORT!r} if m in sys.modules))
"""


def test_gui_never_imports_heavy_ml_libraries(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHECK_IMPORTS, str(tmp_path / "home")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"the GUI imported {proc.stdout.strip()}"
