"""The Adapters page: the table, the empty state and opening an adapter's folder."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices

from studio.store import adapters
from studio.ui.pages.adapters import COLUMNS, NO_ADAPTERS, AdaptersPage, metrics_text


def build(qtbot, db, home) -> AdaptersPage:
    page = AdaptersPage(db, home)
    qtbot.addWidget(page)
    page.show()
    return page


def text(page: AdaptersPage, row: int, column: str) -> str:
    return page.table.item(row, COLUMNS.index(column)).text()


def test_empty_library(qtbot, store, home):
    page = build(qtbot, store, home)
    assert page.table.rowCount() == 0 and page.summary.text() == NO_ADAPTERS
    assert not page.open_button.isEnabled()


def test_adapters_listed_newest_first_and_refreshed(qtbot, store, home):
    adapters.register_adapter(store, name="old", path=home.adapter_dir("old"), method="lora",
                              base_model="gpt2", task="causal-lm", trainable_params=811_008,
                              size_bytes=3_400_000, metrics={"eval_loss": 0.51234}, created_at=1.0)
    page = build(qtbot, store, home)
    assert page.table.rowCount() == 1
    assert text(page, 0, "Trainable params") == "811.01 K" and text(page, 0, "Size") == "3.4 MB"
    assert text(page, 0, "Final metrics") == "eval_loss 0.5123"
    adapters.register_adapter(store, name="new", path=home.adapter_dir("new"), method="dora",
                              base_model="bert", task="classification",
                              metrics={"eval_accuracy": 0.9, "eval_loss": 0.3}, created_at=2.0)
    assert page.table.rowCount() == 1  # read on show and on refresh (F5), not polled
    page.refresh()
    assert [text(page, r, "Name") for r in range(2)] == ["new", "old"]
    assert text(page, 0, "Final metrics") == "eval_accuracy 0.9 · eval_loss 0.3"


def test_open_folder(qtbot, store, home, monkeypatch):
    folder = home.adapter_dir("pirate")
    folder.mkdir(parents=True)
    adapters.register_adapter(store, name="pirate", path=folder, method="lora", base_model="gpt2")
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    page = build(qtbot, store, home)
    page.table.selectRow(0)
    assert page.open_button.isEnabled()
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(folder)]


def test_missing_folder_is_reported_not_opened(qtbot, store, home, monkeypatch):
    adapters.register_adapter(store, name="moved", path=home.adapter_dir("moved"))
    opened, messages = [], []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page = build(qtbot, store, home)
    page.message.connect(messages.append)
    page.table.selectRow(0)
    page.open_selected()
    assert not opened and "missing" in messages[0]


def test_metrics_text_handles_non_numbers():
    assert metrics_text({"b": 1, "a": "n/a"}) == "a n/a · b 1"
