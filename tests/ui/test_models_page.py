"""The Models page: scan off the GUI thread, facts and per-method memory, folders kept in the
store, the local filter, and a Hub search that fails offline without freezing the window."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from studio.modelinfo import hub
from studio.store import model_folders
from studio.ui.pages import models as models_page
from studio.ui.pages.models import SCANNING, ModelsPage
from studio.ui.widgets.model_detail import MEMORY_COLUMNS


@pytest.fixture(autouse=True)
def empty_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def build(qtbot, db, home) -> ModelsPage:
    page = ModelsPage(db, home)
    qtbot.addWidget(page)
    page.show()
    return page


def refs(page: ModelsPage) -> set[str]:
    return {e.ref for e in page.model.entries}


def scanned(qtbot, page: ModelsPage, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: not page.scanning, timeout=timeout)


def memory_cell(page: ModelsPage, method: str, column: str) -> str:
    table = page.detail.memory
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == method)
    return table.item(row, MEMORY_COLUMNS.index(column)).text()


def test_page_scans_on_a_pool_thread_and_lists_the_samples(qtbot, store, home):
    page = build(qtbot, store, home)
    assert page.status.text() == SCANNING and page.scanning  # show started it; the call returned at once
    scanned(qtbot, page)
    assert refs(page) == {"sample:minilm", "sample:smollm2"}
    assert page.status.text() == "2 local models"
    assert page.detail.entry is not None and page.detail.entry.ref == "sample:minilm"  # first row selected


def test_add_and_remove_folder_persist_in_the_store(qtbot, store, home, tiny_models, monkeypatch):
    root = tiny_models["gpt2"].parent
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert model_folders.list_folders(store) == [root]
    scanned(qtbot, page)
    assert {str(tiny_models[a]) for a in ("gpt2", "llama", "bert")} <= refs(page)
    page.select(str(tiny_models["llama"]))
    assert page.remove_button.isEnabled()
    page.select("sample:minilm")
    assert not page.remove_button.isEnabled()  # samples are not from an added folder
    page.select(str(tiny_models["llama"]))
    with qtbot.waitSignal(page.message):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert model_folders.list_folders(store) == []
    scanned(qtbot, page)
    assert refs(page) == {"sample:minilm", "sample:smollm2"}


def test_detail_shows_facts_and_memory_per_method(qtbot, store, home, tiny_models):
    model_folders.add_folder(store, tiny_models["gpt2"])
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    page.select(str(tiny_models["gpt2"]))
    facts = page.detail.fact_labels
    assert facts["Parameters"].text().startswith("42,368") and facts["Architecture"].text() == "GPT2LMHeadModel"
    assert facts["Layers"].text() == "2" and facts["Tied embeddings"].text() == "yes"
    qtbot.waitUntil(lambda: page.detail.memory.rowCount() == 12, timeout=60_000)  # `studio methods` came back
    assert memory_cell(page, "lora", "Trainable") == "2,048"  # L·r·(d + 3d) on GPT-2's fused c_attn
    assert memory_cell(page, "bitfit", "Trainable") == "736"
    assert "16 bytes per trainable parameter" in page.detail.assumptions.text()
    before = memory_cell(page, "lora", "Activations")
    page.detail.batch.setValue(page.detail.batch.value() * 64)  # recomputed at once, no thread needed
    assert memory_cell(page, "lora", "Activations") != before
    with qtbot.waitSignal(page.use_model) as signal:
        qtbot.mouseClick(page.detail.use_button, Qt.MouseButton.LeftButton)
    assert signal.args == [str(tiny_models["gpt2"])]


def test_filter_box_keeps_matching_local_rows(qtbot, store, home, tiny_models):
    model_folders.add_folder(store, tiny_models["gpt2"].parent)
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    qtbot.keyClicks(page.search, "llama")
    shown = {page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())}
    assert shown == {"llama", "sample:smollm2"}  # the GGUF sample's architecture is llama
    page.search.clear()
    assert page.proxy.rowCount() == page.model.rowCount()


def test_offline_hub_search_says_so(qtbot, store, home):
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    page.search.setText("smollm")
    with qtbot.waitSignal(page.message, timeout=10_000) as signal:
        qtbot.mouseClick(page.hub_button, Qt.MouseButton.LeftButton)
    assert "HF_HUB_OFFLINE" in signal.args[0]
    assert page.hub_status.text().startswith("Offline:") and page.hub_button.isEnabled()
    assert page.model.rowCount() == 2  # local rows untouched


def test_a_slow_hub_keeps_the_window_responsive(qtbot, store, home, monkeypatch):
    def slow_search(query, limit, timeout_s):
        time.sleep(1.5)
        raise hub.Offline("no answer from the Hugging Face Hub within 1.5 s")

    monkeypatch.setattr(models_page.hub, "search", slow_search)
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    ticks: list[float] = []
    timer = QTimer(interval=20, timeout=lambda: ticks.append(time.monotonic()))
    timer.start()
    page.search_hub()
    assert page.hub_searching and not page.hub_button.isEnabled()
    qtbot.waitUntil(lambda: not page.hub_searching, timeout=10_000)
    timer.stop()
    assert "within 1.5 s" in page.hub_status.text()
    assert len(ticks) >= 20  # the event loop kept running while the search waited
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5


def test_the_page_does_not_import_torch():
    code = ("import sys, studio.ui.pages.models, studio.commands.models; "
            "sys.exit(1 if {'torch', 'transformers', 'peft'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_a_sequence_beyond_the_models_positions_is_warned(qtbot, store, home):
    page = build(qtbot, store, home)
    scanned(qtbot, page)
    page.select("sample:minilm")  # BERT: 512 learned positions
    qtbot.waitUntil(lambda: page.detail.memory.rowCount() > 0, timeout=60_000)
    page.detail.seq_len.setValue(512)
    assert "positions" not in page.detail.assumptions.text()
    page.detail.seq_len.setValue(1024)
    assert "longer than this model's 512 positions" in page.detail.assumptions.text()
