"""The conversation on screen: one block per turn, the reply in progress growing token by token.

Whole turns are rendered as HTML when the conversation changes; streamed text is appended at the end
with a cursor (no re-render per token, so long replies stay cheap), and the view follows the end
unless the user scrolled up to read.
"""
from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QTextBrowser, QWidget

LABELS = {"user": "You", "assistant": "Model", "system": "System"}
COLOURS = {"user": "#2f6fde", "assistant": "#1f9d55", "system": "#8a6d3b"}
EMPTY = "Load a model on the left, then type below and press Enter (Shift+Enter for a new line)."
READY = "Type a message below and press Enter (Shift+Enter for a new line)."


def turn_html(role: str, content: str, note: str = "") -> str:
    """One turn: a coloured label, then the text with its line breaks."""
    label = f"<b style='color:{COLOURS.get(role, 'gray')}'>{LABELS.get(role, role)}</b>"
    note_html = f" <span style='color:gray'>· {escape(note)}</span>" if note else ""
    body = escape(content).replace("\n", "<br>")
    return f"<p style='margin-top:10px'>{label}{note_html}<br>{body}</p>"


def stats_note(stats: dict[str, Any], adapter: bool = True) -> str:
    """A reply's stats in words: tokens, speed, the adapter, whether it was stopped or turns were left out."""
    parts = [f"{stats.get('tokens', 0)} tokens"]
    if stats.get("tokens_per_s"):
        parts.append(f"{stats['tokens_per_s']:.1f} tokens/s")
    if adapter and stats.get("adapter"):
        parts.append(stats["adapter"])
    if stats.get("stopped"):
        parts.append("stopped")
    elif stats.get("finish_reason") == "length":  # the reply did not end: the limit cut it
        parts.append(f"cut at {stats.get('tokens', 0)} tokens (max new tokens)")
    if stats.get("dropped_turns"):
        parts.append(f"{stats['dropped_turns']} oldest exchange(s) left out to fit the context")
    return " · ".join(parts)


def one_line(turns: list[dict[str, str]]) -> str:
    """The conversation as one prompt line (Compare takes one prompt a line): 'user: … assistant: …'."""
    return " ".join(f"{t['role']}: {' '.join(t['content'].split())}" for t in turns)


class ChatTranscript(QTextBrowser):
    """Shows turns; `begin_reply`/`append_reply`/`end_reply` stream the model's answer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.reply = ""  # the streamed reply so far
        self.hint = EMPTY  # what an empty conversation says
        self.show_turns([])

    def show_turns(self, turns: list[dict[str, str]], notes: dict[int, str] | None = None) -> None:
        """Render the whole conversation (notes: per turn index, e.g. the reply's tokens/s)."""
        notes = notes or {}
        html = "".join(turn_html(t["role"], t["content"], notes.get(i, "")) for i, t in enumerate(turns))
        self.setHtml(html or f"<p style='color:gray'>{escape(self.hint)}</p>")
        self._to_end()

    def begin_reply(self, turns: list[dict[str, str]], notes: dict[int, str] | None = None) -> None:
        """Render the conversation plus an empty model turn that streamed text will fill."""
        notes = notes or {}
        html = "".join(turn_html(t["role"], t["content"], notes.get(i, "")) for i, t in enumerate(turns))
        self.setHtml(html + turn_html("assistant", "", "writing…"))
        self.reply = ""
        self._to_end()

    def append_reply(self, text: str) -> None:
        """Add streamed text at the end of the reply."""
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 4
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.reply += text
        if following:
            self._to_end()

    def _to_end(self) -> None:
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
