"""The main window: pages, shortcuts, status bar, About; the app entry; no heavy imports."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from studio import __version__
from studio.ui.main_window import MainWindow, about_text
from tests.ui.conftest import make_run

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "datasets", "bitsandbytes", "accelerate")


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
    assert window.current_page == "runs" and window.nav.count() == 2
    assert str(home.root) in window.home_label.text()
    assert [a.shortcut() for a in window.page_actions] == [QKeySequence("Ctrl+1"), QKeySequence("Ctrl+2")]
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.refresh_action.shortcut() == QKeySequence("F5")
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page == "adapters" and window.stack.currentWidget() is window.pages["adapters"]
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page == "runs"
    window.nav.setCurrentRow(1)
    assert window.current_page == "adapters"


def test_f5_refreshes_the_page_on_show(qtbot, store, home):
    window = build(qtbot, store, home)
    runs_page = window.pages["runs"]
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
import studio.ui.app
from studio.paths import Home
from studio.store import open_db
from studio.ui.main_window import MainWindow
app = QApplication([])
home = Home(Path(sys.argv[1])).ensure()
window = MainWindow(open_db(home.db_path), home)
window.show()
window.show_page("adapters")
app.processEvents()
print(",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_gui_never_imports_heavy_ml_libraries(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHECK_IMPORTS, str(tmp_path / "home")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"the GUI imported {proc.stdout.strip()}"
