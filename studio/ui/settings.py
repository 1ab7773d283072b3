"""The remembered window layout: geometry, the last page and every splitter, kept in QSettings."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

ORGANIZATION, APPLICATION = "FineTuningStudio", "studio"
ENV_VAR = "STUDIO_SETTINGS"  # an .ini file to use instead of the user's settings (tests, benchmarks)
DEFAULT_SIZE = (1280, 820)


def open_settings(path: str | os.PathLike | None = None) -> QSettings:
    """The settings store: an .ini file when given (or named by STUDIO_SETTINGS), else the user's."""
    path = path or os.environ.get(ENV_VAR)
    if path:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def splitters(pages: Mapping[str, QWidget]) -> dict[str, QSplitter]:
    """Every splitter of every page by a stable key: 'page/objectName', or 'page/splitterN' if unnamed."""
    found: dict[str, QSplitter] = {}
    for page_name, page in pages.items():
        # findChildren walks the tree in construction order, so an unnamed splitter's index is stable
        # as long as the page builds the same widgets; a named one survives layout changes.
        for i, split in enumerate(page.findChildren(QSplitter)):
            found[f"{page_name}/{split.objectName() or f'splitter{i}'}"] = split
    return found


def unnamed_splitters(pages: Mapping[str, QWidget]) -> list[str]:
    """Keys of splitters that have no objectName (their state is kept by position, which is fragile)."""
    return [key for key, split in splitters(pages).items() if not split.objectName()]


def save_layout(window: QMainWindow, pages: Mapping[str, QWidget], current: str,
                settings: QSettings) -> None:
    """Write the window's geometry and state, the page on show and every splitter's state."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("window/page", current)
    settings.beginGroup("splitters")
    for key, split in splitters(pages).items():
        settings.setValue(key, split.saveState())
    settings.endGroup()
    settings.sync()


def restore_layout(window: QMainWindow, page_names: Iterable[str], settings: QSettings) -> str | None:
    """Restore the window's geometry and state (default size when nothing valid); returns the saved
    page name if it is one of page_names. Splitters are restored as their pages are built."""
    geometry = settings.value("window/geometry")
    if not isinstance(geometry, QByteArray) or not window.restoreGeometry(geometry):
        window.resize(*DEFAULT_SIZE)
    state = settings.value("window/state")
    if isinstance(state, QByteArray):
        window.restoreState(state)
    page = settings.value("window/page")
    return page if isinstance(page, str) and page in set(page_names) else None


def restore_splitters(pages: Mapping[str, QWidget], settings: QSettings) -> None:
    """Give these pages' splitters the states save_layout wrote."""
    settings.beginGroup("splitters")
    for key, split in splitters(pages).items():
        value = settings.value(key)
        if isinstance(value, QByteArray):
            split.restoreState(value)
    settings.endGroup()
