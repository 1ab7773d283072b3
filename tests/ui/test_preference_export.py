"""Compare → preference data in the window: "Export as preference data…" is enabled once the ratings make
a pair, writes a JSONL the preference validator accepts, says how many pairs, and "Use in a new run"
opens the wizard on the file."""
from __future__ import annotations

import json

from PySide6.QtWidgets import QFileDialog

from studio.config import DataSpec
from studio.core.preference_rows import prepare_preference
from studio.store import comparisons
from studio.ui import cli_call
from studio.ui.main_window import MainWindow
from studio.ui.pages.compare import ComparePage
from studio.ui.widgets.preference_export import summary_text
from tests.ui.test_compare_page import PROMPTS, stored
from tests.ui.wizard_fakes import FakeCli


def build(qtbot, db, home) -> ComparePage:
    page = ComparePage(db, home)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def test_enabled_only_when_the_ratings_make_a_pair(qtbot, store, home):
    cid = stored(store)
    page = build(qtbot, store, home)
    button = page.preference_button
    page.show_comparison(None)
    assert not button.isEnabled()
    page.open_comparison(cid)
    assert not button.isEnabled() and "Rate at least two outputs" in button.toolTip()
    page.rate(1, "base", 3)
    page.rate(1, "pirate", 3)  # equal ratings say nothing about which is better
    assert not button.isEnabled()
    page.rate(1, "chef", 5)
    assert button.isEnabled() and "(2 pairs now)" in button.toolTip()


def test_export_writes_pairs_the_validator_accepts_and_offers_a_new_run(qtbot, store, home, tmp_path, monkeypatch):
    cid = stored(store)
    for row, column, rating in ((0, "base", 2), (0, "pirate", 5), (1, "base", 1), (1, "pirate", 4), (1, "chef", 4)):
        comparisons.set_rating(store, cid, row, column, rating)
    page = build(qtbot, store, home)
    page.open_comparison(cid)
    target = tmp_path / "prefs"  # no suffix typed: .jsonl is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "JSON Lines (*.jsonl)"))
    with qtbot.waitSignal(page.message) as said:
        page.preference_button.click()
    path = tmp_path / "prefs.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"prompt": PROMPTS[0], "chosen": "arr, jumps", "rejected": "jumps over"},
                    {"prompt": PROMPTS[1], "chosen": "Paris, matey.", "rejected": "Paris."},
                    {"prompt": PROMPTS[1], "chosen": "Paris, with butter.", "rejected": "Paris."}]
    assert said.args == [f"Wrote 3 preference pairs to {path}; skipped 1 output pair (1 rated equally)"]
    checked = prepare_preference(DataSpec(train=str(path)), seed=0, loss="dpo")  # what `studio train` reads
    assert checked.format == "preference"

    box = page.preference_button.box
    assert box.isVisible() and box.text() == said.args[0]
    with qtbot.waitSignal(page.use_preferences) as use:
        page.preference_button.use_button.click()
    assert use.args == [str(path), "tiny-llama"]


def test_use_in_a_new_run_opens_the_wizard_on_the_file(qtbot, store, home, tmp_path, monkeypatch):
    FakeCli.calls, FakeCli.canned = [], {}
    monkeypatch.setattr(cli_call, "CliCall", FakeCli)  # the wizard's checks answer at once, no child process
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n", encoding="utf-8")
    window.pages["compare"].use_preferences.emit(str(path), "sample:smollm2")
    wizard = window.pages["wizard"]
    assert window.current_page == "wizard" and wizard.current == 1
    assert wizard.state.config["task"] == "preference" and wizard.state.config["data"]["train"] == str(path)


def test_summary_counts_what_was_skipped():
    assert summary_text({"pairs": 1, "ties": 0, "identical": 0}, "f") == "Wrote 1 preference pair to f"
    assert summary_text({"pairs": 4, "ties": 2, "identical": 1}, "f") == \
        "Wrote 4 preference pairs to f; skipped 3 output pairs (2 rated equally, 1 with the same text)"
