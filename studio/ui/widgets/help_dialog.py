"""The Help window (F1): the first-run walkthrough, the method guide and the keyboard shortcuts, with a
table of contents and a search box that filters the topics and highlights matches."""
from __future__ import annotations

from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QSplitter, QTextBrowser, QVBoxLayout, QWidget)

from studio.ui.widgets.help_content import first_run, methods_guide

FIRST_RUN, METHODS, SHORTCUTS = "Your first run", "Choosing a method", "Keyboard shortcuts"


def _plain(markdown: str | None = None, html: str | None = None) -> str:
    doc = QTextDocument()
    doc.setMarkdown(markdown) if markdown is not None else doc.setHtml(html or "")
    return doc.toPlainText()


class HelpDialog(QDialog):
    """Topics on the left (filtered by the search box), the chosen topic on the right; not modal."""

    def __init__(self, shortcuts_html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tuning Studio help")
        self._topics: dict[str, tuple[str, str]] = {}  # title -> (kind, source)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the help (Enter: next match)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self.find_next)
        self.toc = QListWidget()
        self.toc.setStyleSheet("QListWidget::item { padding: 5px 6px; }")
        self.toc.currentItemChanged.connect(self._on_topic)
        self.matches = QLabel()
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.search)
        column.addWidget(self.toc, 1)
        column.addWidget(self.matches)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        split.setSizes([220, 680])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        for button in buttons.buttons():  # Enter in the search box means "next match", not "close"
            button.setAutoDefault(False)
            button.setDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Hover over any setting in the window to see what it does."), 1)
        row.addWidget(buttons)
        layout.addLayout(row)
        self.resize(960, 680)
        self.add_topic(FIRST_RUN, "markdown", first_run())
        self.add_topic(METHODS, "markdown", methods_guide())
        self.add_topic(SHORTCUTS, "html", shortcuts_html)
        self.toc.setCurrentRow(0)

    def add_topic(self, title: str, kind: str, source: str) -> None:
        """Add (or replace) a topic: Markdown or HTML text."""
        if title not in self._topics:
            self.toc.addItem(QListWidgetItem(title))
        self._topics[title] = (kind, source)
        if self.topic == title:
            self._render(title)

    def set_shortcuts(self, html: str) -> None:
        """Refresh the shortcut list (actions can be enabled or disabled later)."""
        self.add_topic(SHORTCUTS, "html", html)

    @property
    def topics(self) -> list[str]:
        """Topic titles in table-of-contents order (hidden ones included)."""
        return [self.toc.item(i).text() for i in range(self.toc.count())]

    @property
    def topic(self) -> str | None:
        """The topic on show."""
        item = self.toc.currentItem()
        return item.text() if item else None

    def show_topic(self, title: str) -> None:
        """Show a topic by title."""
        self.toc.setCurrentRow(self.topics.index(title))

    def topic_text(self, title: str) -> str:
        """A topic as plain text."""
        kind, source = self._topics[title]
        return _plain(markdown=source) if kind == "markdown" else _plain(html=source)

    def text(self) -> str:
        """Every topic as plain text."""
        return "\n\n".join(self.topic_text(t) for t in self.topics)

    def _render(self, title: str) -> None:
        kind, source = self._topics[title]
        if kind == "markdown":
            self.browser.setMarkdown(source)
        else:
            self.browser.setHtml(source)

    def _on_topic(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self._render(item.text())
            if self.search.text().strip():
                self.find_next(from_start=True)

    def _on_search(self, text: str) -> None:
        """Hide topics without the text; jump to the first match in the shown (or first matching) topic."""
        needle = text.strip().lower()
        hits = {t: self.topic_text(t).lower().count(needle) if needle else 0 for t in self.topics}
        for i, title in enumerate(self.topics):
            self.toc.item(i).setHidden(bool(needle) and hits[title] == 0)
        if not needle:
            self.matches.setText("")
            return
        total = sum(hits.values())
        self.matches.setText(f"{total} match{'es' if total != 1 else ''}" if total else "No matches")
        if total and hits.get(self.topic or "", 0) == 0:
            self.show_topic(next(t for t in self.topics if hits[t]))
        self.find_next(from_start=True)

    def find_next(self, from_start: bool = False) -> bool:
        """Select the next match of the search text in the topic on show (wrapping round)."""
        needle = self.search.text().strip()
        if not needle:
            return False
        if from_start:
            self.browser.moveCursor(QTextCursor.MoveOperation.Start)
        if self.browser.find(needle):
            return True
        self.browser.moveCursor(QTextCursor.MoveOperation.Start)
        return self.browser.find(needle)
