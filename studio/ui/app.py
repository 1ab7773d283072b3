"""Start the GUI: QApplication, theme, error hook, the store, the main window (or a screenshot of it)."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from studio.paths import Home
from studio.resource_files import icon_path

from studio.store import open_db  # without pandas: see studio/store/sqlite_utils_import.py
from studio.ui import theme
from studio.ui.main_window import PAGES, MainWindow
from studio.ui.settings import open_settings
from studio.ui.widgets.error_dialog import ExceptionHook

SCREENSHOT_SIZE = (1280, 820)
# Long enough for layouts, the first store poll and pyqtgraph's auto-range to settle.
SCREENSHOT_DELAY_MS = 700
# STUDIO_REPORT_READY=1 prints "studio-ready <unix time>" once the window is up and the event loop
# idle (bench/gui.py measures time to interactive with it); "quit" also closes the window then.
READY_ENV = "STUDIO_REPORT_READY"
LOG_FILE = "gui.log"


def run_app(home: Home, screenshot: str | None = None, page: str | None = None) -> int:
    """Show the main window until it closes; with screenshot, save it as a PNG and return."""
    if page is not None and page not in PAGES:
        raise ValueError(f"unknown page {page!r}; expected one of {', '.join(PAGES)}")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Fine-tuning Studio")
    app.setOrganizationName("FineTuningStudio")
    app.setWindowIcon(_app_icon())
    app.setDesktopFileName("io.github.finetuningstudio.Studio")  # Wayland matches the window to the .desktop
    watcher = theme.install_theme(app)  # before any plot exists, so pyqtgraph starts with its colours
    home.ensure()
    log_handler = _log_to(home.root / LOG_FILE)
    hook = None if screenshot else ExceptionHook(lambda: app.activeWindow()).install()
    db = open_db(home.db_path)
    try:
        # A screenshot is reproducible: no remembered layout is read, and none is written.
        window = MainWindow(db, home, settings=None if screenshot else open_settings())
        if page:
            window.show_page(page)
        if screenshot:
            window.resize(*SCREENSHOT_SIZE)
            QTimer.singleShot(SCREENSHOT_DELAY_MS, lambda: _shoot(app, window, screenshot))
        window.show()
        ready = os.environ.get(READY_ENV, "")
        if ready and not screenshot:
            QTimer.singleShot(0, lambda: _report_ready(app, quit_after=ready == "quit"))
        code = app.exec()
        window.close()
        window.deleteLater()
        return code
    finally:
        if hook is not None:
            hook.uninstall()
        logging.getLogger().removeHandler(log_handler)
        log_handler.close()
        watcher.deleteLater()
        db.conn.close()


def _app_icon() -> QIcon:
    """The studio icon at every rendered size (PNGs: no SVG image plugin needed)."""
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        path = icon_path(size)
        if path.is_file():
            icon.addFile(str(path))
    return icon


def _log_to(path: Path) -> logging.Handler:
    """Warnings and errors (uncaught exceptions included) also go to the data home's gui.log."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler


def _report_ready(app: QApplication, quit_after: bool) -> None:
    print(f"studio-ready {time.time():.6f}", flush=True)
    if quit_after:
        app.quit()


def _shoot(app: QApplication, window: MainWindow, path: str) -> None:
    """Render the window to a PNG and end the event loop with 0 if it was saved."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(path), "PNG")
    if not ok:
        print(f"studio: could not write {path}", file=sys.stderr)
    app.exit(0 if ok else 1)
