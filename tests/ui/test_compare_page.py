"""The Compare page: built alone, a run (a fake CliCall that stores what `studio compare --json` would)
fills an N+1-column grid with differences highlighted, ratings saved at once and shown on reopen, saved
comparisons reopened from the store without a child process, CSV/Markdown export, eval metrics side by
side — and one real end-to-end run on a tiny model with two adapters through the real CLI."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.store import adapters, comparisons
from studio.store.db import open_db
from studio.ui.pages.compare import NOTHING_YET, ComparePage
from studio.ui.widgets.compare_grid import best_column, stars
from studio.ui.widgets.compare_setup import read_prompts
from tests.ui.test_adapters_page import FakeCli, fake_cli, fake_lora, register  # noqa: F401 - fixture

PROMPTS = ["The quick brown fox", "What is the capital of France?"]


def stored(db, columns=("base", "pirate", "chef"), evaluation=None, name="t") -> int:
    """A comparison as `studio compare` stores it: base and chef agree on row 1, pirate differs."""
    outputs = [{"base": "jumps over", "pirate": "arr, jumps", "chef": "jumps over"},
               {"base": "Paris.", "pirate": "Paris, matey.", "chef": "Paris, with butter."}]
    rows = [{"prompt": p, "outputs": {c: o[c] for c in columns}} for p, o in zip(PROMPTS, outputs)]
    return comparisons.create_comparison(
        db, name=name, base_model="tiny-llama", task="causal-lm", columns=list(columns), prompts=PROMPTS,
        settings={"max_new_tokens": 5, "seed": 0, "sample": False, "temperature": 1.0, "top_p": 1.0},
        results={"rows": rows, "eval": evaluation, "timings": {"base_loads": 1, "base_load_s": 0.4}},
        eval_file="held.jsonl" if evaluation else None)


def build(qtbot, db, home) -> ComparePage:
    page = ComparePage(db, home)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def test_page_builds_alone_and_says_what_is_missing(qtbot, store, home):
    page = build(qtbot, store, home)
    assert page.title.text() == NOTHING_YET and page.grid.columns == []
    assert not page.run_button.isEnabled() and not page.csv_button.isEnabled()
    assert page.hint.text() == "Choose a base model."
    page.setup.base.setEditText("sample:smollm2")
    assert "prompts" in page.hint.text()
    page.setup.prompts.setPlainText("hello\n\n")
    assert page.run_button.isEnabled() and page.hint.text() == ""
    page.setup.base_only.setChecked(False)
    assert not page.run_button.isEnabled() and "Check at least one adapter" in page.hint.text()


def test_a_run_fills_n_plus_one_columns_highlights_differences(qtbot, store, home, fake_cli):
    register(store, home, "pirate", base="tiny-llama")
    register(store, home, "chef", base="tiny-llama")
    register(store, home, "other", base="tiny-gpt2")
    fake_cli.answers["compare"] = (lambda args: comparisons.get_comparison(store, stored(store)), None)
    page = build(qtbot, store, home)
    page.set_adapters(["pirate", "chef"])
    assert page.setup.base.currentText() == "tiny-llama"
    listed = [page.setup.adapters.item(i).text() for i in range(page.setup.adapters.count())]
    assert sorted(listed) == ["chef", "pirate"]  # only this base's adapters
    assert sorted(page.setup.checked_adapters()) == ["chef", "pirate"]
    page.setup.prompts.setPlainText("\n".join(PROMPTS))
    page.setup.max_new_tokens.setValue(5)
    page.setup.decoding.setCurrentText("Sampling")
    page.setup.temperature.setValue(0.7)
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.running and not page.run_button.isEnabled() and page.busy.isVisible()
    qtbot.waitUntil(lambda: not page.running)
    args = fake_cli.calls[0]
    prompts_file = args[args.index("--prompts") + 1]
    assert args[:3] == ["compare", "--base", "tiny-llama"] and args[-1] == "--json"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--adapter"] == ["pirate", "chef"]
    assert "--no-base" not in args and args[args.index("--max-new-tokens") + 1] == "5"
    assert args[args.index("--sample") + 1:args.index("--sample") + 5] == ["--temperature", "0.7", "--top-p", "1"]
    assert not __import__("os").path.exists(prompts_file)  # the temp file is gone afterwards
    grid = page.grid
    assert grid.columns == ["base", "pirate", "chef"] and grid.rowCount() == 2  # N + 1 columns, a row per prompt
    assert [grid.horizontalHeaderItem(c).text() for c in range(4)] == ["Prompt", "base only", "pirate", "chef"]
    assert grid.item(1, 0).text() == PROMPTS[1]
    assert grid.differs(0, "pirate") and not grid.differs(0, "chef") and not grid.differs(0, "base")
    assert grid.differs(1, "chef") and grid.output(1, "chef") == "Paris, with butter."
    assert page.run_button.isEnabled() and page.saved.ids() == [page.comparison["id"]] and page.csv_button.isEnabled()


def test_ratings_are_saved_at_once_and_shown_on_reopen(qtbot, store, home):
    cid = stored(store)
    page = build(qtbot, store, home)
    page.open_comparison(cid)
    grid = page.grid
    grid.setCurrentCell(1, 3)
    qtbot.keyClick(grid, Qt.Key.Key_4)
    assert comparisons.get_comparison(store, cid)["ratings"] == {"1:chef": 4}
    assert grid.item(1, 3).text() == "Paris, with butter.\n" + stars(4)
    grid.setCurrentCell(1, 0)
    qtbot.keyClick(grid, Qt.Key.Key_5)  # the prompt column is not rated
    actions = grid.rating_actions(0, "pirate")
    actions[1].trigger()  # the context menu's "rate 2"
    assert comparisons.get_comparison(store, cid)["ratings"] == {"1:chef": 4, "0:pirate": 2}
    grid.setCurrentCell(1, 3)
    qtbot.keyClick(grid, Qt.Key.Key_0)  # clears
    again = build(qtbot, store, home)
    again.open_comparison(cid)
    assert again.grid.item(0, 2).text().endswith(stars(2)) and again.grid.item(1, 3).text() == "Paris, with butter."


def test_saved_comparisons_reopen_without_a_child_process(qtbot, store, home, fake_cli, monkeypatch):
    first = stored(store, name="first")
    stored(store, columns=("pirate",), name="second")
    page = build(qtbot, store, home)
    saved = page.saved.list
    assert saved.count() == 2 and saved.item(0).text() == "#2 second — 2 prompts, 1 columns, 0 rated"
    assert page.comparison["id"] == 2 and saved.currentRow() == 0  # the first visit opens the newest
    saved.setCurrentRow(1)
    assert page.comparison["id"] == first and page.grid.columns == ["base", "pirate", "chef"]
    assert "#1 first" in page.title.text() and "greedy" in page.title.text()
    assert page.setup.base.currentText() == "tiny-llama" and page.setup.prompt_lines() == PROMPTS  # form follows
    assert page.setup.base_only.isChecked() and page.setup.max_new_tokens.value() == 5
    saved.setCurrentRow(0)
    assert page.grid.columns == ["pirate"] and not page.grid.differs(0, "pirate")  # no base: nothing to differ from
    assert not page.setup.base_only.isChecked()
    assert fake_cli.calls == []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.saved.delete_selected()
    assert page.saved.ids() == [first] and page.comparison is None
    assert [c["id"] for c in comparisons.list_comparisons(store)] == [first]


def test_adapters_sent_from_the_library_are_not_replaced_by_a_saved_comparison(qtbot, store, home):
    register(store, home, "pirate", base="tiny-llama")
    register(store, home, "chef", base="tiny-llama")
    stored(store, columns=("base", "chef"))
    page = ComparePage(store, home)
    qtbot.addWidget(page)
    page.set_adapters(["pirate"])  # as the main window does, before the page is shown
    page.show()
    assert page.comparison is not None  # the newest comparison is on show ...
    assert page.setup.checked_adapters() == ["pirate"]  # ... but the form is what the library sent


def test_export_csv_and_markdown(qtbot, store, home, tmp_path, monkeypatch):
    cid = stored(store)
    comparisons.set_rating(store, cid, 1, "pirate", 5)
    page = build(qtbot, store, home)
    page.open_comparison(cid)
    target = {"csv": tmp_path / "grid", "md": tmp_path / "grid.md"}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target[fmt]), ""))
    fmt = "csv"
    assert page.export("csv") == str(tmp_path / "grid.csv")  # the suffix is added
    table = list(csv.reader(io.StringIO((tmp_path / "grid.csv").read_text())))
    assert table[0][:5] == ["#", "prompt", "base", "pirate", "chef"] and table[2][-2] == "5"
    fmt = "md"
    qtbot.mouseClick(page.md_button, Qt.MouseButton.LeftButton)
    text = (tmp_path / "grid.md").read_text()
    assert "| # | prompt | base | pirate | chef |" in text and "★5" in text


def test_eval_metrics_and_predictions_side_by_side(qtbot, store, home):
    evaluation = {"file": "held.jsonl", "rows": 3, "metrics": {
        "base": {"accuracy": 1 / 3, "macro_f1": 0.25}, "pirate": {"accuracy": 1.0, "macro_f1": 1.0},
        "chef": {"accuracy": 2 / 3, "macro_f1": 0.6}},
        "gold": ["pos", "neg", "pos"], "predictions": {"base": ["neg", "neg", "neg"],
                                                       "pirate": ["pos", "neg", "pos"], "chef": ["pos", "pos", "pos"]}}
    page = build(qtbot, store, home)
    page.open_comparison(stored(store, evaluation=evaluation))
    m = page.metrics.metrics
    assert [m.verticalHeaderItem(r).text() for r in range(m.rowCount())] == ["accuracy", "macro_f1"]
    assert m.columnCount() == 3 and m.item(0, 0).text() == "0.3333" and m.item(0, 1).font().bold()
    p = page.metrics.predictions
    assert p.rowCount() == 3 and p.columnCount() == 4 and p.item(0, 1).background().style() != Qt.BrushStyle.NoBrush
    assert "held.jsonl" in page.metrics.file.text()
    assert best_column("eval_loss", {"a": 1.0, "b": 0.5}) == "b" and best_column("tokens", {"a": 1, "b": 2}) is None


def test_a_merge_preview_folder_becomes_a_checked_column(qtbot, store, home, tmp_path):
    register(store, home, "pirate", base="tiny-llama")
    register(store, home, "chef", base="tiny-llama")
    preview = fake_lora(tmp_path / "merge-1", Path("tiny-llama"), meta={})
    page = build(qtbot, store, home)
    page.set_adapters([str(preview), "pirate"])  # the base comes from the folder's studio.json
    assert page.setup.base.currentText() == "tiny-llama"
    items = [page.setup.adapters.item(i) for i in range(page.setup.adapters.count())]
    assert [i.text() for i in items] == ["merge-1 (folder)", "pirate", "chef"]
    assert page.setup.checked_adapters() == [str(preview), "pirate"]
    page.setup.prompts.setPlainText("hi")
    args = page.setup.command("p.txt")
    assert args[3:7] == ["--adapter", str(preview), "--adapter", "pirate"]


def test_the_library_page_opens_compare_with_its_selection(qtbot, store, home):
    from studio.ui.main_window import MainWindow

    register(store, home, "pirate", base="tiny-llama")
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    window.show()
    window.pages["adapters"].compare_adapters.emit(["pirate"])
    assert window.current_page == "compare"
    assert window.pages["compare"].setup.checked_adapters() == ["pirate"]


def test_prompts_from_a_file(tmp_path):
    (tmp_path / "p.txt").write_text("one\n\ntwo\n")
    (tmp_path / "p.jsonl").write_text('{"prompt": "a\\nb"}\n{"instruction": "c"}\n')
    assert read_prompts(tmp_path / "p.txt") == ["one", "two"]
    assert read_prompts(tmp_path / "p.jsonl") == ["a b", "c"]
    (tmp_path / "bad.jsonl").write_text('{"text": 1}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_prompts(tmp_path / "bad.jsonl")


@pytest.mark.slow
def test_real_run_on_a_tiny_model_with_two_adapters(qtbot, home, tiny_models, tmp_path):
    from bench.compare import make_adapter

    base = str(tiny_models["gpt2"])
    lora = make_adapter(base, tmp_path / "lora", "lora", scale=0.5)
    houlsby = make_adapter(base, tmp_path / "houlsby", "houlsby", options={"size": 8}, scale=0.5, seed=1)
    db = open_db(home.db_path)  # the CLI child writes to the home's database
    try:
        for name, folder, method in (("my-lora", lora, "lora"), ("my-houlsby", houlsby, "houlsby")):
            adapters.register_adapter(db, name=name, path=folder, method=method, base_model=base, task="causal-lm")
        page = build(qtbot, db, home)
        page.set_adapters(["my-lora", "my-houlsby"])
        page.setup.prompts.setPlainText("The quick brown fox\nHello")
        page.setup.max_new_tokens.setValue(4)
        page.run()
        assert page.running and not page.run_button.isEnabled()
        qtbot.waitUntil(lambda: not page.running, timeout=300_000)
        assert page.comparison is not None, page.status.text()
        grid = page.grid
        assert grid.columns == ["base", "my-lora", "my-houlsby"] and grid.rowCount() == 2  # N + 1 columns
        assert all(isinstance(grid.output(r, c), str) for r in range(2) for c in grid.columns)
        assert [c["id"] for c in comparisons.list_comparisons(db)] == [page.comparison["id"]]
    finally:
        db.conn.close()
