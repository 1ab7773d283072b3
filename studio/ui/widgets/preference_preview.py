"""The data preview of a preference example: the prompt once, then the chosen and the rejected answer side
by side (a KTO example: its one answer and whether it is desirable), trained tokens highlighted."""
from __future__ import annotations

from html import escape
from typing import Any

TRAINED_STYLE = "background-color:#bfe8bf; color:#1a1a1a;"  # the data step's highlight, readable in dark themes
PRE = '<pre style="white-space:pre-wrap; margin:0">'
CHOSEN_HEAD = "color:#1b7a1b;"
REJECTED_HEAD = "color:#a52a2a;"


def highlighted(text: str, spans: list[Any]) -> str:
    """`text` as HTML with the characters of each [start, end) span highlighted as trained."""
    parts, at = [], 0
    for start, end in sorted((int(s), int(e)) for s, e in spans or []):
        start = max(start, at)
        if end <= start:
            continue
        parts += [escape(text[at:start]), f'<span style="{TRAINED_STYLE}">{escape(text[start:end])}</span>']
        at = end
    parts.append(escape(text[at:]))
    return "".join(parts)


def _side(example: dict[str, Any], key: str) -> str:
    """One answer (chosen, rejected or completion) with its trained span(s)."""
    text, spans = example.get(key) or "", (example.get("trained") or {}).get(key) or []
    prompt = example.get("prompt") or ""
    if prompt and text.startswith(prompt):  # rendered as prompt + answer: the prompt is shown once, above
        cut = len(prompt)
        text, spans = text[cut:], [[max(0, s - cut), e - cut] for s, e in spans if e > cut]
    return f"{PRE}{highlighted(text, spans)}</pre>"


def _cell(title: str, style: str, body: str) -> str:
    return f'<td width="50%" valign="top"><p style="{style}"><b>{title}</b></p>{body}</td>'


def preference_html(example: dict[str, Any]) -> str:
    """A preference (or KTO) example as HTML for the data step's preview."""
    tokens = example.get("tokens")
    head = f"<p><b>{escape(str(example.get('where', '')))}</b>" + (f" · {tokens} tokens" if tokens else "")
    prompt = f'<p><i>prompt</i></p>{PRE}{escape(example.get("prompt") or "")}</pre>'
    if "completion" in example:  # KTO: one answer, marked desirable or not
        good = bool(example.get("label"))
        mark = ("desirable", CHOSEN_HEAD) if good else ("undesirable", REJECTED_HEAD)
        return (f"{head} · <span style=\"{mark[1]}\"><b>{mark[0]}</b></span></p>{prompt}"
                f"<p><i>completion</i></p>{_side(example, 'completion')}<hr>")
    table = ('<table width="100%" cellspacing="6"><tr>'
             + _cell("chosen ✓", CHOSEN_HEAD, _side(example, "chosen"))
             + _cell("rejected ✗", REJECTED_HEAD, _side(example, "rejected")) + "</tr></table>")
    return f"{head}</p>{prompt}{table}<hr>"
