"""The Adapters page: columns, search and method filter, notes and tags, rename, delete, import
(refusals list what differs), export and merge dialogs driving `studio export|merge` (a fake CliCall
here; tests/library covers the commands), and "compare these". No torch in this file: the adapter
folders are written by hand (PEFT's file names, a safetensors header with the shapes)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox
from safetensors.numpy import save_file

from studio.library import library
from studio.store import adapters
from studio.ui import cli_call
from studio.ui.pages.adapters import COLUMNS, AdaptersPage, metrics_text
from studio.ui.widgets.error_dialog import open_error_dialogs


# --- adapter folders without torch
def fake_base(folder: Path, width: int = 32) -> Path:
    """A one-layer llama-shaped 'model': config.json and a safetensors file with q_proj's weight."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": width,
        "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 64, "intermediate_size": 2 * width}))
    save_file({"model.layers.0.self_attn.q_proj.weight": np.zeros((width, width), np.float32)},
              str(folder / "model.safetensors"))
    return folder


def fake_lora(folder: Path, base: Path, r: int = 4, width: int = 32, method: str = "lora",
              meta: dict | None = None) -> Path:
    """A PEFT LoRA folder for `base` (lora_A is r x width: a width other than the base's does not fit)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": 2 * r, "lora_dropout": 0.0,
        "target_modules": ["q_proj"], "base_model_name_or_path": str(base)}))
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    save_file({f"{prefix}.lora_A.weight": np.ones((r, width), np.float32),
               f"{prefix}.lora_B.weight": np.ones((32, r), np.float32)}, str(folder / "adapter_model.safetensors"))
    if meta is not None or method != "lora":
        (folder / "studio.json").write_text(json.dumps({"method": method, "task": "causal-lm",
                                                        "base_model": str(base), **(meta or {})}))
    return folder


def register(db, home, name: str, method: str = "lora", base: str = "tiny-llama", **kw) -> Path:
    """A library row whose folder exists (a hand-made LoRA folder)."""
    folder = fake_lora(home.adapter_dir(name), Path(base))
    adapters.register_adapter(db, name=name, path=folder, method=method, base_model=base, task="causal-lm", **kw)
    return folder


class FakeCli(QObject):
    """CliCall's stand-in: records the args, sends the canned progress lines, then the canned answer."""

    finished = Signal(object, object)
    progress = Signal(object)
    calls: list[list[str]] = []
    answers: dict[str, tuple] = {}

    def __init__(self, home, args, timeout_s=120.0, parent=None):
        super().__init__(parent)
        self.args, self._done = list(args), False

    def start(self):
        FakeCli.calls.append(self.args)
        result, error = self.answers.get(self.args[0], ({}, None))
        if callable(result):
            result = result(self.args)
        for fraction in (0.25, 0.75):
            QTimer.singleShot(0, lambda f=fraction: self.progress.emit({"stage": "saving", "fraction": f}))
        QTimer.singleShot(5, lambda: self._emit(result, error))
        return self

    def _emit(self, result, error):
        if not self._done:
            self._done = True
            self.finished.emit(result, error)

    def cancel(self):
        self._done = True

    @property
    def running(self):
        return not self._done


@pytest.fixture
def fake_cli(monkeypatch):
    FakeCli.calls, FakeCli.answers = [], {}
    monkeypatch.setattr(cli_call, "CliCall", FakeCli)
    return FakeCli


def build(qtbot, db, home) -> AdaptersPage:
    page = AdaptersPage(db, home)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: not page.busy)  # the startup recovery check
    return page


def text(page: AdaptersPage, row: int, column: str) -> str:
    return page.table.item(row, COLUMNS.index(column)).text()


def shown(page: AdaptersPage) -> list[str]:
    return [r["name"] for i, r in enumerate(page.table.rows) if not page.table.isRowHidden(i)]


def test_empty_library(qtbot, store, home):
    page = build(qtbot, store, home)
    assert page.table.rowCount() == 0
    # Said once, in the centre: the toolbar line stays empty (it repeated the empty state's text).
    assert page.summary.text() == "" and not page.empty.isHidden() and "No adapters yet" in page.empty.title.text()
    assert not any(b.isEnabled() for b in (page.rename_button, page.delete_button, page.export_button,
                                           page.merge_button, page.compare_button))
    assert page.import_button.isEnabled()


def test_columns_newest_first_and_refreshed(qtbot, store, home):
    adapters.register_adapter(store, name="old", path=home.adapter_dir("old"), method="lora",
                              base_model="gpt2", task="causal-lm", trainable_params=811_008,
                              size_bytes=3_400_000, metrics={"eval_loss": 0.51234}, created_at=1.0,
                              settings={"r": 8, "alpha": 16, "target_modules": ["c_attn"]},
                              dataset="data/pirate.jsonl", tags=["pirate", "v1"])
    page = build(qtbot, store, home)
    assert page.table.columnCount() == len(COLUMNS) == 11
    assert [page.table.horizontalHeaderItem(c).text() for c in range(11)] == list(COLUMNS)
    assert text(page, 0, "Trainable params") == "811.01 K" and text(page, 0, "Size") == "3.4 MB"
    assert text(page, 0, "Final metrics") == "eval_loss 0.5123"
    assert text(page, 0, "Settings") == "r 8 · alpha 16 · c_attn"
    assert text(page, 0, "Dataset") == "data/pirate.jsonl" and text(page, 0, "Tags") == "pirate, v1"
    assert text(page, 0, "Created").startswith("1970-01-0")
    adapters.register_adapter(store, name="new", path=home.adapter_dir("new"), method="dora",
                              base_model="bert", task="classification",
                              metrics={"eval_accuracy": 0.9, "eval_loss": 0.3}, created_at=2.0)
    assert page.table.rowCount() == 1  # read on show and on refresh (F5), not polled
    page.refresh()
    assert [text(page, r, "Name") for r in range(2)] == ["new", "old"]
    assert text(page, 0, "Final metrics") == "eval_accuracy 0.9 · eval_loss 0.3"


def test_search_and_method_filter(qtbot, store, home):
    register(store, home, "pirate-lora", tags=["pirate"])
    register(store, home, "chef-lora", notes="talks like a chef")
    register(store, home, "topics-bitfit", method="bitfit", base="tiny-bert")
    page = build(qtbot, store, home)
    assert page.summary.text() == "3 adapters"
    page.search.setText("PIRATE")
    assert shown(page) == ["pirate-lora"] and page.summary.text() == "1 of 3 adapters"
    page.search.setText("chef")  # found by its notes
    assert shown(page) == ["chef-lora"]
    page.search.setText("tiny-bert")  # and by base model
    assert shown(page) == ["topics-bitfit"]
    page.search.clear()
    assert [page.method_filter.itemText(i) for i in range(page.method_filter.count())] == \
        ["All methods", "bitfit", "lora"]
    page.method_filter.setCurrentText("lora")
    assert sorted(shown(page)) == ["chef-lora", "pirate-lora"]
    page.refresh()  # the filter survives a refresh
    assert page.method_filter.currentText() == "lora" and len(shown(page)) == 2


def test_notes_and_tags_are_saved_and_shown(qtbot, store, home):
    register(store, home, "pirate")
    page = build(qtbot, store, home)
    page.select("pirate")
    detail = page.detail
    assert detail.row["name"] == "pirate" and detail.facts["Method"].text() == "lora"
    assert detail.facts["Settings"].text() == "r 4 · alpha 8 · q_proj"  # read from the folder
    detail.notes.setPlainText("Arr, best one yet")
    detail.notes.focus_lost.emit()  # leaving the box saves
    assert adapters.get_adapter(store, "pirate")["notes"] == "Arr, best one yet"
    detail.tags.setText("pirate, best, pirate")
    detail.tags.editingFinished.emit()
    assert adapters.get_adapter(store, "pirate")["tags"] == ["pirate", "best"]
    qtbot.waitUntil(lambda: text(page, 0, "Tags") == "pirate, best")  # the table follows
    assert page.selected()[0]["name"] == "pirate" and detail.notes.toPlainText() == "Arr, best one yet"
    page.refresh()
    assert detail.tags.text() == "pirate, best"


def test_open_folder_and_missing_folder_warning(qtbot, store, home, monkeypatch):
    folder = register(store, home, "pirate")
    adapters.register_adapter(store, name="moved", path=home.adapter_dir("moved"), created_at=0.0)
    opened, messages = [], []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    page = build(qtbot, store, home)
    page.message.connect(messages.append)
    page.select("pirate")
    assert page.detail.open_button.isEnabled() and page.detail.missing.isHidden()
    qtbot.mouseClick(page.detail.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(folder)]
    page.select("moved")
    assert not page.detail.missing.isHidden() and not page.detail.open_button.isEnabled()
    page.detail.open_folder()
    assert opened == [str(folder)] and "missing" in messages[-1]


def test_rename_moves_row_and_folder(qtbot, store, home, monkeypatch):
    register(store, home, "pirate")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("pirate-v2", True))
    page = build(qtbot, store, home)
    page.select("pirate")
    qtbot.mouseClick(page.rename_button, Qt.MouseButton.LeftButton)
    assert [r["name"] for r in library.find(store)] == ["pirate-v2"]
    assert home.adapter_dir("pirate-v2").is_dir() and not home.adapter_dir("pirate").exists()
    assert page.selected()[0]["name"] == "pirate-v2"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("../bad", True))
    page.rename_selected()
    dialog = open_error_dialogs()[-1]
    assert "adapter name '../bad'" in dialog.message
    dialog.close()


def test_delete_asks_then_removes_row_and_files(qtbot, store, home, monkeypatch):
    folder = register(store, home, "pirate")
    register(store, home, "chef")
    page = build(qtbot, store, home)
    page.select("pirate")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert "pirate" in asked[0] and str(folder) in asked[0]
    assert page.table.rowCount() == 2 and folder.is_dir()  # No keeps it
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.delete_selected()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)
    assert not folder.exists() and [r["name"] for r in adapters.list_adapters(store)] == ["chef"]


def test_import_refusal_lists_what_differs_then_a_fitting_one_imports(qtbot, store, home, tmp_path, monkeypatch):
    base = fake_base(tmp_path / "base")
    bad = fake_lora(tmp_path / "wide-lora", base, width=48)
    good = fake_lora(tmp_path / "good-lora", base)
    page = build(qtbot, store, home)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(bad))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.title == "Import refused" for d in open_error_dialogs()))
    dialog = next(d for d in open_error_dialogs() if d.title == "Import refused")
    assert "does not fit the base" in dialog.message
    assert "lora_A.weight: adapter has (4, 48), base expects (4, 32)" in dialog.message
    dialog.close()
    assert page.table.rowCount() == 0 and not list(home.adapters_dir.iterdir())  # nothing half-imported
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(good))
    page.import_folder()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)
    assert page.selected()[0]["name"] == "good-lora" and page.import_button.isEnabled()
    assert (home.adapter_dir("good-lora") / "adapter_model.safetensors").is_file()


def test_import_asks_for_a_base_it_cannot_find(qtbot, store, home, tmp_path, monkeypatch):
    base = fake_base(tmp_path / "base")
    lost = fake_lora(tmp_path / "lost-lora", tmp_path / "moved-away")  # names a base that is gone
    folders = iter([str(lost), str(base)])  # the adapter, then the base when asked
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: next(folders))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page = build(qtbot, store, home)
    page.import_folder()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)
    assert page.selected()[0]["name"] == "lost-lora"


def test_recovery_runs_once_when_the_page_is_built(qtbot, store, home):
    leftover = home.adapters_dir / ".import-half-4194303"  # a pid no process has
    leftover.mkdir(parents=True)
    messages = []
    page = AdaptersPage(store, home)
    qtbot.addWidget(page)
    page.message.connect(messages.append)
    qtbot.waitUntil(lambda: not leftover.exists())
    qtbot.waitUntil(lambda: any("deleted leftover" in m for m in messages))


def test_export_dialog_runs_studio_export_with_progress(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "pirate")
    out = tmp_path / "exports" / "pirate-fp16"
    fake_cli.answers["export"] = ({"path": str(out), "merged": True, "files": ["config.json", "README.md"]}, None)
    page = build(qtbot, store, home)
    page.select("pirate")
    assert page.export_button.text() == "Export…"  # merged, GGUF or adapter only: the dialog offers all
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog.merged.isChecked() and dialog.merged.isEnabled() and dialog.dtype.isEnabled()
    dialog.out.setText(str(out))
    dialog.dtype.setCurrentText("fp16")
    seen = []
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    # the fake sends its progress lines from the event loop, after this connection
    dialog.progress.call.progress.connect(lambda line: seen.append(dialog.progress.bar.value()))
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        pass
    assert fake_cli.calls == [["export", "pirate", "--merged", str(out), "--dtype", "fp16", "--json"]]
    assert seen and dialog.progress.bar.value() == 100 and "Exported to" in dialog.status.text()
    assert not dialog.open_button.isHidden()
    dialog.adapter_only.setChecked(True)
    assert not dialog.dtype.isEnabled()
    assert dialog.command() == ["export", "pirate", "--adapter-only", str(out), "--json"]


def test_non_mergeable_method_explains_and_offers_adapter_only(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "prefix-chat", method="prefix")
    fake_cli.answers["export"] = (None, "something broke")
    page = build(qtbot, store, home)
    page.select("prefix-chat")
    assert page.export_button.text() == "Export adapter only…"
    assert "prefix tuning adds learned key/value vectors" in page.export_button.toolTip()
    page.export_selected()
    dialog = page.dialog
    assert not dialog.merged.isEnabled() and dialog.adapter_only.isChecked()
    assert "cannot be merged" in dialog.explain.text()
    dialog.out.setText(str(tmp_path / "out"))
    dialog.start()
    assert fake_cli.calls[-1] == ["export", "prefix-chat", "--adapter-only", str(tmp_path / "out"), "--json"]
    qtbot.waitUntil(lambda: "Export failed: something broke" in dialog.status.text())
    errors = [d for d in open_error_dialogs() if d.title == "Export failed"]
    assert errors and "something broke" in errors[0].message
    errors[0].close()


def test_merge_dialog_previews_offers_compare_and_saves(qtbot, store, home, fake_cli):
    register(store, home, "pirate")
    register(store, home, "chef")
    register(store, home, "topics", method="bitfit")
    fake_cli.answers["merge"] = (lambda args: {"name": None, "path": args[args.index("--out") + 1]}
                                 if "--out" in args else {"name": args[args.index("--name") + 1], "path": "x"}, None)
    page = build(qtbot, store, home)
    page.select("pirate")
    assert not page.merge_button.isEnabled()
    page.table.select_row(page.table.row_of("chef"))
    assert page.merge_button.isEnabled() and page.compare_button.isEnabled()
    compared = []
    page.compare_adapters.connect(compared.append)
    qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog.names == ["chef", "pirate"] and not dialog.compare_button.isEnabled()
    dialog.method.setCurrentText("ties")
    dialog.weights[0].setValue(0.7)
    dialog.weights[1].setValue(0.3)
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.compare_button.isEnabled())
    args = fake_cli.calls[0]
    out = args[args.index("--out") + 1]
    assert args == ["merge", "chef", "pirate", "--weights", "0.7", "0.3", "--method", "ties",
                    "--density", "0.5", "--out", out, "--json"]
    assert Path(out).parent == home.root / "previews"
    dialog.name.setText("chef-pirate")
    dialog.start_save()
    qtbot.waitUntil(lambda: "Saved to the library as chef-pirate" in dialog.status.text())
    assert fake_cli.calls[1][-3:] == ["--name", "chef-pirate", "--json"]
    assert "--density" in fake_cli.calls[1]
    qtbot.mouseClick(dialog.compare_button, Qt.MouseButton.LeftButton)
    assert compared == [["chef", "pirate", out]]
    page.table.select_row(page.table.row_of("topics"))  # a bitfit adapter cannot be combined
    page.merge_selected()
    assert "only LoRA" in page.dialog.warning.text() and not page.dialog.preview_button.isEnabled()


def test_compare_selected_emits_the_names(qtbot, store, home):
    register(store, home, "pirate")
    register(store, home, "chef")
    page = build(qtbot, store, home)
    page.select("pirate")
    with qtbot.waitSignal(page.compare_adapters) as signal:
        qtbot.mouseClick(page.compare_button, Qt.MouseButton.LeftButton)
    assert signal.args == [["pirate"]]


def test_metrics_text_handles_non_numbers():
    assert metrics_text({"b": 1, "a": "n/a"}) == "a n/a · b 1"

