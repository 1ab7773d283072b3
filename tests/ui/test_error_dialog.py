"""Error dialogs: details on demand, "Copy details", and the hook that shows uncaught exceptions."""
from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from studio.ui.widgets.error_dialog import ExceptionHook, open_error_dialogs, show_error


@pytest.fixture
def no_dialogs_left():
    yield
    for dialog in open_error_dialogs():
        dialog.reject()


def test_copy_details_puts_message_and_details_on_the_clipboard(qtbot, no_dialogs_left):
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = show_error(parent, "Could not start the run", "config.yaml: training.batch_size must be >= 1",
                        "Traceback (most recent call last):\n  ...\nValueError: batch_size")
    qtbot.waitUntil(dialog.isVisible)
    assert not dialog.details_box.isVisible()
    dialog.details_button.click()
    assert dialog.details_box.isVisible() and "ValueError" in dialog.details_box.toPlainText()
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("Could not start the run\nconfig.yaml: training.batch_size must be >= 1\n")
    assert copied.rstrip().endswith("ValueError: batch_size")
    dialog.close_button.click()
    assert not dialog.isVisible() and dialog not in open_error_dialogs()


def test_the_same_error_counts_up_instead_of_stacking(qtbot, no_dialogs_left):
    first = show_error(None, "Oops", "disk full")
    again = show_error(None, "Oops", "disk full")
    assert again is first and first.repeats == 2 and "2 times" in first.full_text()
    assert not first.details_button.isEnabled()  # nothing to show
    other = show_error(None, "Oops", "another thing")
    assert other is not first and len(open_error_dialogs()) == 2


def boom() -> None:
    raise ZeroDivisionError("the loss went to infinity")


def test_hook_logs_and_shows_an_uncaught_exception(qtbot, caplog, no_dialogs_left):
    hook = ExceptionHook().install()
    try:
        assert sys.excepthook == hook.handle
        try:
            boom()
        except ZeroDivisionError:
            with caplog.at_level(logging.ERROR, logger="studio.ui"):
                sys.excepthook(*sys.exc_info())
    finally:
        hook.uninstall()
    assert sys.excepthook != hook.handle
    assert "Unexpected error" in caplog.text and "ZeroDivisionError" in caplog.text
    (dialog,) = open_error_dialogs()
    qtbot.waitUntil(dialog.isVisible)
    assert "the loss went to infinity" in dialog.message and "in boom" in dialog.details
    dialog.reject()
    qtbot.waitUntil(lambda: not open_error_dialogs())


def test_an_exception_on_another_thread_is_shown_from_the_gui_thread(qtbot, no_dialogs_left):
    hook = ExceptionHook().install()
    try:
        worker = threading.Thread(target=boom)
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(open_error_dialogs()) == 1)
    finally:
        hook.uninstall()
    (dialog,) = open_error_dialogs()
    assert dialog.thread() is QGuiApplication.instance().thread()
    assert "ZeroDivisionError" in dialog.message


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_reaches_the_dialog(qtbot, no_dialogs_left):
    hook = ExceptionHook().install()
    try:
        QTimer.singleShot(0, boom)  # raised inside Qt's event loop, as a page's handler would
        qtbot.waitUntil(lambda: len(open_error_dialogs()) == 1)
    finally:
        hook.uninstall()
    assert "the loss went to infinity" in open_error_dialogs()[0].message
