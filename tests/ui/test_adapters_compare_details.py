"""Adapters and Compare details (issue 12, item 6): Merge… only for a mergeable selection, with the
reason as its tooltip; a new comparison clears the previous result at once; a classification
comparison is not described as generation; column names are shown whole (or elided in the middle
with the name as tooltip)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from studio.store import comparisons
from studio.ui.pages.adapters import AdaptersPage
from studio.ui.pages.compare import ComparePage, summary_text
from tests.ui.test_adapters_page import FakeCli, fake_cli, register  # noqa: F401 - fixture
from tests.ui.test_compare_page import stored


def test_merge_is_enabled_only_for_mergeable_selections(qtbot, store, home):
    register(store, home, "pirate", base="tiny-llama")
    register(store, home, "chef", base="tiny-llama")
    for name in ("sent-a", "sent-b"):
        register(store, home, name, base="tiny-bert")
    store.execute("UPDATE adapters SET task = 'classification' WHERE name LIKE 'sent-%'")
    page = AdaptersPage(store, home)
    qtbot.addWidget(page)
    page.show()
    page.refresh()

    def choose(*names):
        page.table.clearSelection()
        for name in names:
            page.table.select_row(next(r for r, row in enumerate(page.table.rows) if row["name"] == name))
    choose("pirate", "chef")
    assert page.merge_button.isEnabled()
    row = next(r for r, a in enumerate(page.table.rows) if a["name"] == "pirate")
    assert page.table.item(row, 0).toolTip() == f"pirate\n{page.table.rows[row]['path']}"  # whole name, then path
    choose("sent-a", "sent-b")
    assert not page.merge_button.isEnabled()
    assert "only causal-lm adapters combine" in page.merge_button.toolTip()
    choose("pirate")
    assert not page.merge_button.isEnabled() and "two or more" in page.merge_button.toolTip()


def test_a_new_run_clears_the_previous_result_and_says_what_runs(qtbot, store, home, fake_cli):
    register(store, home, "pirate", base="tiny-llama")
    page = ComparePage(store, home)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.open_comparison(stored(store, columns=("base", "pirate")))
    assert page.grid.rowCount() == 2
    fake_cli.answers["compare"] = ({}, "stopped")  # never mind the outcome: what shows meanwhile
    page.set_adapters(["pirate"])
    page.setup.prompts.setPlainText("hi")
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.running and page.grid.rowCount() == 0 and not page.tabs.isVisible()
    assert "Comparing…" in page.title.text() and "pirate" in page.title.text()
    assert not page.csv_button.isEnabled() and page.busy.isVisible()
    page.stop()
    assert "Comparing" not in page.title.text() and page.empty.isVisible()


def test_a_classification_comparison_is_not_labelled_as_generation(store):
    c = comparisons.get_comparison(store, stored(store))
    assert "new tokens" in summary_text(c)
    c["task"] = "classification"
    text = summary_text(c)
    assert "new tokens" not in text and "greedy" not in text and "predicted label" in text


def test_column_names_are_shown_whole_with_tooltips(qtbot, store, home):
    names = ["base", "demo-pirate-adapter", "sample-smollm2-chef", "demo-classify-sentiment"]
    rows = [{"prompt": "hi", "outputs": {c: "out" for c in names}}]
    made = comparisons.create_comparison(
        store, name="w", base_model="tiny-llama", task="causal-lm", columns=names, prompts=["hi"],
        settings={"max_new_tokens": 5, "seed": 0, "sample": False}, results={"rows": rows, "eval": None})
    page = ComparePage(store, home)
    qtbot.addWidget(page)
    page.resize(900, 700)  # narrow: columns would be squeezed below their names
    page.show()
    page.open_comparison(made)
    grid = page.grid
    header = grid.horizontalHeader()
    width = header.fontMetrics().horizontalAdvance("demo-classify-sentiment")
    for k in range(1, grid.columnCount()):
        assert header.sectionSize(k) >= width + 10, grid.horizontalHeaderItem(k).text()
    assert grid.horizontalHeaderItem(3).toolTip() == "sample-smollm2-chef"
    assert header.textElideMode() == Qt.TextElideMode.ElideMiddle
