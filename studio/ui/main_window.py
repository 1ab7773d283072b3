"""The main window: page navigation, menus, shortcuts and a status bar naming the data home."""
from __future__ import annotations

import importlib
import platform
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import QEvent, QSettings, QSize, QTimer, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QMainWindow, QMessageBox,
                               QStackedWidget, QWidget)

from studio import __version__
from studio.paths import Home
from studio.resource_files import readme_path
from studio.ui.lazy_pages import LazyPages
from studio.ui.quit_guard import may_close
from studio.ui.settings import restore_layout, restore_splitters, save_layout
from studio.ui.widgets.live_plot import pg
from studio.ui.widgets.nav_icons import nav_icon

# Navigation order (Ctrl+1..N follow it) and the names shown.
PAGE_TITLES = {"models": "Models", "wizard": "New run", "runs": "Runs", "adapters": "Adapters",
               "compare": "Compare", "chat": "Chat"}
PAGES = tuple(PAGE_TITLES)
PREBUILD_DELAY_MS, PREBUILD_STEP_MS = 300, 20  # after the window is up; between two pages
START_PAGE = "runs"  # where a returning user (and a run in progress) is, unless another was remembered


def _page_class(module: str, name: str) -> Callable[[], type]:
    """The page class, imported when first needed (page modules are a good part of start-up)."""
    return lambda: getattr(importlib.import_module(f"studio.ui.pages.{module}"), name)


_PAGE_CLASSES = {"models": _page_class("models", "ModelsPage"), "wizard": _page_class("wizard", "WizardPage"),
                 "runs": _page_class("runs", "RunsPage"), "adapters": _page_class("adapters", "AdaptersPage"),
                 "compare": _page_class("compare", "ComparePage"), "chat": _page_class("chat", "ChatPage")}
NEW_RUN_PAGE = "wizard"  # Ctrl+N shows it once it is registered
README = readme_path()


def about_text(home: Home) -> str:
    """The About box: studio, Python, Qt and pyqtgraph versions, and the data home."""
    return (f"<h3>Fine-tuning Studio {escape(__version__)}</h3>"
            "<p>Fine-tune Hugging Face models with LoRA and friends.</p>"
            f"<p>Python {escape(platform.python_version())}<br>"
            f"Qt {escape(qVersion())} (PySide6 {escape(PySide6.__version__)})<br>"
            f"pyqtgraph {escape(pg.__version__)}</p>"
            f"<p>Data home: {escape(str(home.root))}</p>")


def help_text(shortcuts: list[tuple[str, str]], readme: Path = README) -> str:
    """The Help dialog: every keyboard shortcut, and where the README is."""
    rows = "".join(f"<tr><td><b>{escape(keys)}</b>&nbsp;&nbsp;</td><td>{escape(what)}</td></tr>"
                   for keys, what in shortcuts)
    where = (f'<a href="{readme.as_uri()}">{escape(str(readme))}</a>' if readme.is_file()
             else "README.md in the studio's source folder")
    return (f"<h3>Keyboard shortcuts</h3><table>{rows}</table>"
            f"<p>How to use the studio, the command line and every setting: {where}.</p>"
            "<p>Hover over any setting to see what it does.</p>")


class MainWindow(QMainWindow):
    """Left navigation between pages; File/View/Help menus; shortcuts; a remembered layout."""

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self._settings = settings  # None: nothing is restored or saved (tests, screenshots)
        # The user's window (with settings) says, on quitting mid-run, that training goes on; tests do not ask.
        self.ask_on_quit = settings is not None
        self.setWindowTitle("Fine-tuning Studio")
        self._db = db
        self.nav = QListWidget()
        self.nav.addItems([PAGE_TITLES[name] for name in PAGES])
        self.nav.setFixedWidth(150)
        self.nav.setIconSize(QSize(20, 20))
        # A styled item draws its own selection: say it, or the chosen page is white on white.
        self.nav.setStyleSheet("QListWidget { padding: 4px; } QListWidget::item { padding: 7px 8px; "
                               "border-radius: 4px; } QListWidget::item:selected { "
                               "background: palette(highlight); color: palette(highlighted-text); }")
        self._set_nav_icons()
        self.stack = QStackedWidget()
        factories = {name: (lambda n=name: _PAGE_CLASSES[n]()(db, home)) for name in PAGES}
        self.pages = LazyPages(factories, self.stack, self._page_built)
        self.nav.currentRowChanged.connect(self._show_row)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.home_label = QLabel(f"Data home: {home.root}")
        self.statusBar().addPermanentWidget(self.home_label)
        self._build_menus()
        page = restore_layout(self, PAGES, settings) if settings is not None else None
        self.show_page(page or START_PAGE)

    def _set_nav_icons(self) -> None:
        """Sidebar icons in the theme's colours (again when the theme changes)."""
        for row, name in enumerate(PAGES):
            icon = nav_icon(name, self.palette())
            if icon is not None:
                self.nav.item(row).setIcon(icon)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._set_nav_icons()
        super().changeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        QTimer.singleShot(PREBUILD_DELAY_MS, self._prebuild_next)

    def _prebuild_next(self, imported: bool = False) -> None:
        """Build the pages not shown yet while the user is idle, one step per event-loop turn
        (the page's module import, then its construction), so switching to them is instant later."""
        pending = self.pages.pending()
        if not pending or not self.isVisible():
            return
        if not imported:
            _PAGE_CLASSES[pending[0]]()  # the import: a turn of its own
            QTimer.singleShot(0, lambda: self._prebuild_next(imported=True))
            return
        self.pages[pending[0]]
        QTimer.singleShot(PREBUILD_STEP_MS, self._prebuild_next)

    def _show_row(self, row: int) -> None:
        if row >= 0:
            self.pages[PAGES[row]]  # built on first show
            self.stack.setCurrentIndex(row)

    def _page_built(self, name: str, page: QWidget) -> None:
        """Wire a page as it is built: status messages, remembered splitters, links to other pages."""
        page.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        if self._settings is not None:
            restore_splitters({name: page}, self._settings)
        if name == "runs" and NEW_RUN_PAGE in self.pages:  # Clone config: a new wizard with a run's settings
            page.clone_config.connect(lambda config: (self.pages[NEW_RUN_PAGE].clone(config),
                                                      self.show_page(NEW_RUN_PAGE)))
        if name == "models":
            page.use_model.connect(lambda ref: (self.pages["wizard"].set_model(ref), self.show_page("wizard")))
        elif name == "runs" and hasattr(page, "new_run"):
            page.new_run.connect(self.new_run)  # the empty page's New run button
        elif name == "wizard":
            page.run_started.connect(lambda run_id: (self.show_page("runs"), self.pages["runs"].select_run(run_id)))
        elif name == "adapters":
            page.compare_adapters.connect(
                lambda items: (self.pages["compare"].set_adapters(items), self.show_page("compare")))
        elif name == "chat":
            page.send_to_compare.connect(lambda prompts, base, chosen: (
                self.pages["compare"].set_prompts(prompts, base, chosen), self.show_page("compare")))
        elif name == "compare" and NEW_RUN_PAGE in self.pages:
            page.use_preferences.connect(lambda path, base: (self.pages[NEW_RUN_PAGE].use_preference_data(base, path),
                                                             self.show_page(NEW_RUN_PAGE)))

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_run_action = QAction("&New run…", self, shortcut=QKeySequence("Ctrl+N"),
                                      triggered=self.new_run)
        has_wizard = NEW_RUN_PAGE in self.pages
        self.new_run_action.setEnabled(has_wizard)
        self.new_run_action.setToolTip("Set up a new fine-tuning run" if has_wizard else
                                       "The new-run wizard is not available in this version")
        self.refresh_action = QAction("&Refresh", self, shortcut=QKeySequence("F5"), triggered=self.refresh)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        file_menu.addAction(self.new_run_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.page_actions: list[QAction] = []
        for i, name in enumerate(self.pages):
            action = QAction(PAGE_TITLES[name], self, triggered=lambda _=False, n=name: self.show_page(n))
            if i < 9:  # Ctrl+1 … Ctrl+9; later pages are reached from the list or this menu
                action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            view_menu.addAction(action)
            self.page_actions.append(action)
        help_menu = self.menuBar().addMenu("&Help")
        self.help_action = QAction("&Help: first run, methods, shortcuts", self, shortcut=QKeySequence("F1"),
                                   triggered=self.show_help)
        self.about_action = QAction("&About Fine-tuning Studio", self, triggered=self.show_about)
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)
        self.help_box: Any = None  # the HelpDialog, made on first F1

    def shortcuts(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action with a shortcut, in menu order."""
        actions = [self.new_run_action, self.refresh_action, self.quit_action, *self.page_actions,
                   self.help_action]
        return [(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
                 f"Show the {a.text()} page" if a in self.page_actions else a.text().replace("&", "").rstrip("…"))
                for a in actions if not a.shortcut().isEmpty() and a.isEnabled()]

    def show_help(self) -> None:
        """The Help window (F1): first-run walkthrough, method guide, shortcuts; not modal."""
        if self.help_box is None:
            from studio.ui.widgets.help_dialog import HelpDialog  # only when asked: not at start-up

            self.help_box = HelpDialog(help_text(self.shortcuts()), self)
        else:
            self.help_box.set_shortcuts(help_text(self.shortcuts()))
        self.help_box.show()
        self.help_box.raise_()
        self.help_box.activateWindow()

    def new_run(self) -> None:
        """Ctrl+N: the new-run wizard, when there is one."""
        if NEW_RUN_PAGE in self.pages:
            self.show_page(NEW_RUN_PAGE)
        else:
            self.statusBar().showMessage("The new-run wizard is not available; use  studio train CONFIG.", 8000)

    def show_page(self, name: str) -> None:
        """Switch to a page by name (one of self.pages)."""
        if name not in self.pages:
            raise ValueError(f"unknown page {name!r}; expected one of {', '.join(self.pages)}")
        self.nav.setCurrentRow(list(self.pages).index(name))

    @property
    def current_page(self) -> str:
        """Name of the page on show."""
        return list(self.pages)[self.stack.currentIndex()]

    def refresh(self) -> None:
        """Re-read the store for the page on show (F5)."""
        self.pages[self.current_page].refresh()
        self.statusBar().showMessage("Refreshed.", 2000)

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, "About Fine-tuning Studio", about_text(self._home))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout (when given settings) as the window closes; mid-run, say that training goes
        on in the background and offer to stop it (quit_guard.py)."""
        if self.ask_on_quit:
            ok, _said = may_close(self, self._db)
            if not ok:
                event.ignore()
                return
        if self._settings is not None:
            save_layout(self, self.pages.built(), self.current_page, self._settings)
        super().closeEvent(event)
