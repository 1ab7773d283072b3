"""Start the GUI: QApplication, plot options, the store, the main window (or a screenshot of it)."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.paths import Home
from studio.store import open_db
from studio.ui.main_window import PAGES, MainWindow
from studio.ui.widgets import live_plot

SCREENSHOT_SIZE = (1280, 820)
# Long enough for layouts, the first store poll and pyqtgraph's auto-range to settle.
SCREENSHOT_DELAY_MS = 700


def run_app(home: Home, screenshot: str | None = None, page: str | None = None) -> int:
    """Show the main window until it closes; with screenshot, save it as a PNG and return."""
    if page is not None and page not in PAGES:
        raise ValueError(f"unknown page {page!r}; expected one of {', '.join(PAGES)}")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Fine-tuning Studio")
    app.setOrganizationName("FineTuningStudio")
    live_plot.configure(app.palette())
    home.ensure()
    db = open_db(home.db_path)
    try:
        window = MainWindow(db, home)
        if page:
            window.show_page(page)
        if screenshot:
            window.resize(*SCREENSHOT_SIZE)  # reproducible images, whatever the saved geometry
            QTimer.singleShot(SCREENSHOT_DELAY_MS, lambda: _shoot(app, window, screenshot))
        else:
            settings = QSettings("FineTuningStudio", "studio")
            geometry = settings.value("geometry")
            if geometry is None or not window.restoreGeometry(geometry):
                window.resize(*SCREENSHOT_SIZE)
            app.aboutToQuit.connect(lambda: settings.setValue("geometry", window.saveGeometry()))
        window.show()
        code = app.exec()
        window.close()
        window.deleteLater()
        return code
    finally:
        db.conn.close()


def _shoot(app: QApplication, window: MainWindow, path: str) -> None:
    """Render the window to a PNG and end the event loop with 0 if it was saved."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(path), "PNG")
    if not ok:
        print(f"studio: could not write {path}", file=sys.stderr)
    app.exit(0 if ok else 1)
