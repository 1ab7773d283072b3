"""F1 help: the README's method guide shipped in the app, the first-run walkthrough, a table of contents
and search (issue 12, item 14)."""
from __future__ import annotations

import re

from PySide6.QtCore import Qt

from studio.resource_files import readme_path
from studio.ui.widgets.help_content import METHODS_TITLE, first_run, methods_guide, readme_section
from studio.ui.widgets.help_dialog import FIRST_RUN, METHODS, SHORTCUTS, HelpDialog


def test_shipped_method_guide_equals_the_readme_section():
    section = readme_section(readme_path().read_text(encoding="utf-8"), METHODS_TITLE)
    assert methods_guide() == section, ("studio/resources/help/methods.md differs from the README's "
                                        "'## Methods': run  python3 -m studio.ui.widgets.help_content")
    assert "| `lora` |" in section and "## Exports" not in section


def test_readme_section_stops_at_the_next_heading():
    text = "# T\n## A\na\n### a1\nx\n## B\nb\n"
    assert readme_section(text, "A") == "## A\na\n### a1\nx\n"


def _dialog(qtbot) -> HelpDialog:
    dialog = HelpDialog("<h3>Keyboard shortcuts</h3><table><tr><td>Ctrl+N</td><td>New run</td></tr></table>")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_topics_walkthrough_and_guide(qtbot):
    dialog = _dialog(qtbot)
    assert dialog.topics == [FIRST_RUN, METHODS, SHORTCUTS] and dialog.topic == FIRST_RUN
    walkthrough = dialog.topic_text(FIRST_RUN)
    steps = re.findall(r"^\d+\. \*\*", first_run(), flags=re.M)
    assert 5 <= len(steps) <= 7, steps
    for page in ("Models", "Data", "Method", "Training", "Review", "Runs"):
        assert page in walkthrough
    dialog.show_topic(METHODS)
    shown = dialog.browser.toPlainText()
    assert "qlora" in shown and "compacter" in shown and "Methods" in shown
    dialog.show_topic(SHORTCUTS)
    assert "Ctrl+N" in dialog.browser.toPlainText()


def test_search_filters_topics_and_selects_the_match(qtbot):
    dialog = _dialog(qtbot)
    qtbot.keyClicks(dialog.search, "Kronecker")  # only in the method guide
    assert dialog.topic == METHODS
    hidden = [dialog.toc.item(i).isHidden() for i in range(dialog.toc.count())]
    assert hidden == [True, False, True]
    assert dialog.browser.textCursor().selectedText() == "Kronecker"
    assert "match" in dialog.matches.text()
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)  # next match, the dialog stays open
    assert dialog.isVisible()
    dialog.search.clear()
    assert not any(dialog.toc.item(i).isHidden() for i in range(dialog.toc.count()))
    qtbot.keyClicks(dialog.search, "zzzz-nothing")
    assert dialog.matches.text() == "No matches"
