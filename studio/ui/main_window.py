"""The main window: page navigation, menus, shortcuts and a status bar naming the data home."""
from __future__ import annotations

import platform
from html import escape
from typing import Any

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QMainWindow, QMessageBox,
                               QStackedWidget, QWidget)

from studio import __version__
from studio.paths import Home
from studio.ui.pages.adapters import AdaptersPage
from studio.ui.pages.runs import RunsPage
from studio.ui.widgets.live_plot import pg

PAGES = ("runs", "adapters")


def about_text(home: Home) -> str:
    """The About box: studio, Python, Qt and pyqtgraph versions, and the data home."""
    return (f"<h3>Fine-tuning Studio {escape(__version__)}</h3>"
            "<p>Fine-tune Hugging Face models with LoRA and friends.</p>"
            f"<p>Python {escape(platform.python_version())}<br>"
            f"Qt {escape(qVersion())} (PySide6 {escape(PySide6.__version__)})<br>"
            f"pyqtgraph {escape(pg.__version__)}</p>"
            f"<p>Data home: {escape(str(home.root))}</p>")


class MainWindow(QMainWindow):
    """Left navigation between pages; File/View/Help menus; Ctrl+1/2, F5, Ctrl+Q."""

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self.setWindowTitle("Fine-tuning Studio")
        self.pages: dict[str, QWidget] = {"runs": RunsPage(db, home), "adapters": AdaptersPage(db, home)}
        self.nav = QListWidget()
        self.nav.addItems([name.title() for name in self.pages])
        self.nav.setFixedWidth(130)
        self.nav.setStyleSheet("QListWidget::item { padding: 6px 8px; }")
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
            page.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.home_label = QLabel(f"Data home: {home.root}")
        self.statusBar().addPermanentWidget(self.home_label)
        self._build_menus()
        self.nav.setCurrentRow(0)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.refresh_action = QAction("&Refresh", self, shortcut=QKeySequence("F5"), triggered=self.refresh)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.page_actions: list[QAction] = []
        for i, name in enumerate(self.pages):
            action = QAction(name.title(), self, shortcut=QKeySequence(f"Ctrl+{i + 1}"),
                             triggered=lambda _=False, n=name: self.show_page(n))
            view_menu.addAction(action)
            self.page_actions.append(action)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Fine-tuning Studio", self, triggered=self.show_about)
        help_menu.addAction(self.about_action)

    def show_page(self, name: str) -> None:
        """Switch to a page by name ('runs' or 'adapters')."""
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
