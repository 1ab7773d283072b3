"""The wizard's data preview of a preference file: chosen and rejected side by side, trained tokens
highlighted, from a canned `studio inspect-data` answer; a KTO example shows its one answer and label."""
from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QTextEdit

from studio.ui.pages.wizard.data_step import example_html
from studio.ui.widgets.preference_preview import TRAINED_STYLE, highlighted, preference_html

PROMPT = "<|user|>How do I greet a sailor?<|assistant|>"
CHOSEN = PROMPT + "Ahoy, matey!<eos>"
REJECTED = PROMPT + "Hello.<eos>"
PAIR = {"kind": "preference", "where": "prefs.jsonl:3", "tokens": 21, "prompt": PROMPT, "chosen": CHOSEN,
        "rejected": REJECTED, "trained": {"chosen": [[len(PROMPT), len(CHOSEN)]],
                                          "rejected": [[len(PROMPT), len(REJECTED)]]}}
KTO = {"kind": "preference", "where": "kto.jsonl:1", "tokens": 12, "prompt": PROMPT,
       "completion": PROMPT + "Go away.<eos>", "label": False,
       "trained": {"completion": [[len(PROMPT), len(PROMPT) + len("Go away.<eos>")]]}}


def cell_text(cell) -> str:
    """The plain text of a QTextTable cell."""
    cursor = cell.firstCursorPosition()
    cursor.setPosition(cell.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
    return cursor.selectedText().replace("\u2029", "\n")


def marked(html: str) -> list[str]:
    """The highlighted pieces of an HTML preview, in order."""
    opener = f'<span style="{TRAINED_STYLE}">'
    return [part.split("</span>")[0] for part in html.split(opener)[1:]]


def test_highlighted_escapes_and_marks_each_span():
    assert highlighted("a<b>cd", [[1, 4]]) == f'a<span style="{TRAINED_STYLE}">&lt;b&gt;</span>cd'
    assert highlighted("abc", []) == "abc"


def test_pair_shows_chosen_and_rejected_side_by_side_with_their_answers_highlighted(qtbot):
    html = example_html(PAIR)  # the data step's entry point dispatches on kind
    assert html == preference_html(PAIR)
    assert marked(html) == ["Ahoy, matey!&lt;eos&gt;", "Hello.&lt;eos&gt;"]  # chosen first, then rejected
    assert html.index("chosen ✓") < html.index("rejected ✗")
    view = QTextEdit()
    qtbot.addWidget(view)
    view.setHtml(html)
    tables = view.document().rootFrame().childFrames()  # Qt lays the pair out as one table: two cells
    assert len(tables) == 1 and (tables[0].rows(), tables[0].columns()) == (1, 2)
    left, right = (cell_text(tables[0].cellAt(0, i)) for i in range(2))
    # Each side shows its answer; the prompt they share is shown once, above them.
    assert left == "chosen ✓\nAhoy, matey!<eos>" and right == "rejected ✗\nHello.<eos>"
    assert view.toPlainText().count("How do I greet a sailor?") == 1


def test_answers_given_without_the_prompt_keep_their_spans():
    bare = {**PAIR, "chosen": "Ahoy!", "rejected": "Hi.", "trained": {"chosen": [[0, 5]], "rejected": [[0, 2]]}}
    assert marked(preference_html(bare)) == ["Ahoy!", "Hi"]


def test_kto_example_shows_its_answer_and_label():
    html = example_html(KTO)
    assert "undesirable" in html and "rejected ✗" not in html
    assert marked(html) == ["Go away.&lt;eos&gt;"]
    assert "desirable" in example_html({**KTO, "label": True}) and \
        "undesirable" not in example_html({**KTO, "label": True})
