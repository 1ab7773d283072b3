"""Errors in a dialog: the message, expandable details and a "Copy details" button; a global hook."""
from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QPushButton, QStyle, QVBoxLayout, QWidget)

log = logging.getLogger("studio.ui")


class ErrorDialog(QDialog):
    """A message, a details box shown on demand, and buttons: Show details, Copy details, Close."""

    def __init__(self, title: str, message: str, details: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("errorDialog")
        self.title, self.message, self.details = title, message, details
        self.repeats = 1
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(40, 40))
        self.message_label = QLabel(message)
        self.message_label.setWordWrap(True)
        self.message_label.setMinimumWidth(360)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(icon, 0)
        top.addWidget(self.message_label, 1)

        self.details_box = QPlainTextEdit(details)
        self.details_box.setReadOnly(True)
        self.details_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details_box.setMinimumHeight(180)
        self.details_box.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.details_button = QPushButton("Show details")
        self.details_button.setToolTip("Show or hide the technical details (e.g. the traceback)")
        self.details_button.setEnabled(bool(details))
        self.details_button.clicked.connect(self.toggle_details)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Put the message and its details on the clipboard, for a bug report")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_box, 1)
        layout.addWidget(buttons)

    def full_text(self) -> str:
        """Title, message and details as plain text (what Copy details puts on the clipboard)."""
        parts = [self.title, self.message]
        if self.repeats > 1:
            parts.append(f"(happened {self.repeats} times)")
        if self.details:
            parts += ["", self.details.rstrip()]
        return "\n".join(parts) + "\n"

    def copy_details(self) -> None:
        """Copy the full text to the clipboard."""
        QGuiApplication.clipboard().setText(self.full_text())
        self.copy_button.setText("Copied")

    def toggle_details(self) -> None:
        """Show or hide the details box."""
        visible = not self.details_box.isVisible()
        self.details_box.setVisible(visible)
        self.details_button.setText("Hide details" if visible else "Show details")
        self.adjustSize()

    def count_repeat(self) -> None:
        """The same error again while this dialog is open: say so instead of stacking dialogs."""
        self.repeats += 1
        self.message_label.setText(f"{self.message}\n\n(This happened {self.repeats} times.)")


_open: dict[tuple[str, str], ErrorDialog] = {}  # open dialogs by (title, message); also keeps them alive


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> ErrorDialog:
    """Show an error dialog without blocking (window-modal); the same open error only counts up."""
    key = (title, message)
    dialog = _open.get(key)
    if dialog is not None:
        dialog.count_repeat()
        return dialog
    dialog = ErrorDialog(title, message, details, parent)
    _open[key] = dialog
    dialog.finished.connect(lambda _code: _forget(key, dialog))
    dialog.open()
    return dialog


def _forget(key: tuple[str, str], dialog: ErrorDialog) -> None:
    if _open.get(key) is dialog:
        del _open[key]
    dialog.deleteLater()


def open_error_dialogs() -> list[ErrorDialog]:
    """Error dialogs on show now."""
    return list(_open.values())


class _Relay(QObject):
    """Lives in the GUI thread, so an error raised on any thread is shown from the GUI thread."""

    report = Signal(str, str, str)


class ExceptionHook:
    """sys.excepthook / threading.excepthook while the GUI runs: log the error and show it in a dialog."""

    def __init__(self, parent: Callable[[], QWidget | None] = lambda: None) -> None:
        self._parent = parent
        self._relay = _Relay()
        self._relay.report.connect(self._show)
        self._previous: tuple[Any, Any] | None = None

    def install(self) -> "ExceptionHook":
        """Replace the interpreter's hooks (keeping the old ones for uninstall)."""
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)
        return self

    def uninstall(self) -> None:
        """Put the previous hooks back."""
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def handle(self, exc_type: type[BaseException], value: BaseException | None,
               tb: TracebackType | None) -> None:
        """Log an uncaught exception and show it (Ctrl+C still ends the program the usual way)."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, value, tb)
            return
        log.error("Unexpected error", exc_info=(exc_type, value or exc_type(), tb))
        message = f"{exc_type.__name__}: {value}" if str(value or "") else exc_type.__name__
        details = "".join(traceback.format_exception(exc_type, value, tb))
        app = QApplication.instance()
        if app is None:
            return
        if QThread.currentThread() is app.thread():
            self._show("Unexpected error", message, details)
        else:
            self._relay.report.emit("Unexpected error", message, details)  # queued to the GUI thread

    def _show(self, title: str, message: str, details: str) -> None:
        show_error(self._parent(), title, f"Something went wrong: {message}\n\nThe studio keeps running; "
                   "if this persists, copy the details into a bug report.", details)
