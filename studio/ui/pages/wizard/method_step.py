"""Wizard step 3: a card per method with its description and, from `studio probe --all-methods` (in
the background), the exact trainable parameters on this model, or why the model cannot take it."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
                               QRadioButton, QScrollArea, QToolButton, QVBoxLayout, QWidget)

from studio.ui.pages.wizard.form import Form, spec_from_option
from studio.ui.pages.wizard.method_groups import formula, grouped, summary
from studio.ui.pages.wizard.method_recommend import recommendation_for

PROBE_DEBOUNCE_MS = 800
COUNTING = "counting…"
# Rounded cards; the recommended one framed in the accent colour (palette roles follow the theme).
CARD_STYLE = ("QFrame#methodCard { border: 1px solid palette(mid); border-radius: 6px; }"
              "QFrame#methodCard[recommended=\"true\"] { border: 2px solid palette(highlight); }"
              "QLabel#recommendedBadge { color: palette(highlight); font-weight: 600; }")
CPU_SLOW = "CPU, slow: no CUDA GPU here, so the 4/8-bit base runs on the CPU"


def counts_text(entry: dict[str, Any] | None, cuda: bool | None) -> str:
    """A card's probe line: exact counts and share, the refusal, or 'counting…'."""
    if entry is None:
        return COUNTING
    if "error" in entry:
        return f"cannot: {entry['error']}"
    text = (f"{entry['trainable_params']:,} of {entry['total_params']:,} parameters trainable "
            f"({entry['trainable_percent']:.3f}%)")
    if entry.get("default_options"):  # options kept for this method were not counted yet
        text += "\nfor the default options; choose it to count yours"
    return text + (f"\n{CPU_SLOW}" if entry["method"] == "qlora" and cuda is False else "")


def rates_text(info: dict[str, Any]) -> str:
    """The method's starting rate, per task where the tasks differ ('2e-3 classification, 2e-4 causal-lm …')."""
    rates = info.get("learning_rates") or {}
    if len(set(rates.values())) <= 1:
        return f"{info['learning_rate']:g}"
    return ", ".join(f"{rate:g} {task}" for task, rate in rates.items())


class MethodCard(QFrame):
    """One method: radio button, a one-line summary, the probe's counts for this model, and the full
    description (formula, mergeable, starting rate) behind a Details toggle."""

    def __init__(self, info: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = info["name"]
        self.setObjectName("methodCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(CARD_STYLE)
        self.radio = QRadioButton(self.name)
        self.radio.setStyleSheet("font-weight: bold")
        self.radio.setToolTip(info["description"])
        self.badge = QLabel()  # '★ Recommended …' on the default for this model and task
        self.badge.setObjectName("recommendedBadge")
        self.badge.setWordWrap(True)
        self.badge.hide()
        self.summary = QLabel(summary(info))
        self.summary.setWordWrap(True)
        merge = "mergeable into the base model" if info["mergeable"] else "kept as a separate adapter (not mergeable)"
        self.description = QLabel(f"{info['description']}\n\n{merge}; starting learning rate "
                                  f"{rates_text(info)}")
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description.hide()  # the formulas are there for whoever opens Details
        self.details = QToolButton()
        self.details.setText("Details")
        self.details.setCheckable(True)
        self.details.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details.setArrowType(Qt.ArrowType.RightArrow)
        self.details.setAutoRaise(True)
        self.details.setToolTip(formula(info) or "What it trains and when to choose it")
        self.details.toggled.connect(self._toggle_details)
        self.counts = QLabel(COUNTING)
        self.counts.setWordWrap(True)
        self.counts.setStyleSheet("font-weight: bold")
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)  # busy indicator while the probe runs
        self.spinner.setMaximumHeight(6)
        self.spinner.setTextVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.radio)
        top.addStretch(1)
        top.addWidget(self.details)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.badge)
        layout.addWidget(self.summary)
        layout.addWidget(self.counts)
        layout.addWidget(self.spinner)
        layout.addWidget(self.description)

    def _toggle_details(self, shown: bool) -> None:
        self.description.setVisible(shown)
        self.details.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def set_recommended(self, why: str | None) -> None:
        """Mark (or unmark) this card as the recommended default, saying why."""
        self.badge.setText(f"★ Recommended: {why}" if why else "")
        self.badge.setVisible(bool(why))
        self.setProperty("recommended", bool(why))
        self.style().unpolish(self)  # the border follows the property only after a re-polish
        self.style().polish(self)

    def show_probe(self, entry: dict[str, Any] | None, cuda: bool | None, busy: bool) -> None:
        """Counts or refusal; a refused method is greyed out and cannot be picked."""
        self.counts.setText(COUNTING if busy else counts_text(entry, cuda))
        self.spinner.setVisible(busy)
        refused = not busy and entry is not None and "error" in entry
        self.setEnabled(not refused)
        self.counts.setToolTip(self.counts.text())


class MethodStep(QWidget):
    """Method cards (from `studio methods --json`, loaded once) and the chosen method's options."""

    title = "Method"
    changed = Signal()

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.cards: dict[str, MethodCard] = {}
        self.headers: dict[str, QLabel] = {}
        self.recommended: str | None = None
        self.options: Form | None = None
        self.group = QButtonGroup(self)
        self.group.buttonClicked.connect(lambda button: self.select(button.text()))
        self.status = QLabel("Loading the methods…")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self._grid_host = QWidget()
        self.grid = QGridLayout(self._grid_host)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        self.options_box = QGroupBox("Options")
        self._options_layout = QVBoxLayout(self.options_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 3)
        layout.addWidget(self.options_box, 1)
        self._timer = QTimer(self, singleShot=True, interval=PROBE_DEBOUNCE_MS)
        self._timer.timeout.connect(state.start_probe)
        self._timer.timeout.connect(self._show_probe)  # a probe already known starts nothing: redraw
        state.methods_loaded.connect(self._build_cards)
        state.probed.connect(self._show_probe)

    def enter(self) -> None:
        """Shown: load the method list once and (re)probe this model unless the answer is known."""
        self._state.load_methods()
        self._state.start_probe()
        self._show_probe()

    def _build_cards(self) -> None:
        s = self._state
        if s.methods_error:
            self.status.setText(f"Cannot list the methods: {s.methods_error}")
            return
        infos = {info["name"]: info for info in s.methods or []}
        row = 0
        for title, subtitle, names in grouped(list(infos)):
            header = QLabel(f"<b>{title}</b> — {subtitle}")
            header.setObjectName("groupHeader")
            self.grid.addWidget(header, row, 0, 1, 2)
            self.headers[title] = header
            row += 1
            for i, name in enumerate(names):  # two cards a row, in the group's order
                card = MethodCard(infos[name])
                self.group.addButton(card.radio)
                self.cards[name] = card
                self.grid.addWidget(card, row + i // 2, i % 2)
            row += (len(names) + 1) // 2
        self.grid.setRowStretch(row, 1)  # short lists sit at the top, not spread over the height
        self.select(s.config["method"].get("name", "lora"))
        self._show_probe()

    def select(self, name: str) -> None:
        """Choose a method: its card is checked and its options form shown (kept values if re-chosen)."""
        info = self._state.method_info(name)
        if info is None:
            return
        self.cards[name].radio.setChecked(True)
        kept = self._state.options_of(name)  # as entered the last time this method was chosen
        if self.options is not None:
            self.options.setParent(None)
            self.options.deleteLater()
        self.options = Form([spec_from_option(o) for o in info["options"]], kept)
        self.options.changed.connect(self._on_options)
        if not info["options"]:
            self.options.layout().addRow(QLabel(f"{name} has no options."))
        self._options_layout.addWidget(self.options)
        self.options_box.setTitle(f"{name} options")
        self._apply()
        # Count this method with its kept options (at once when counted before, else after the debounce).
        if self._state.probe_of(name) is None:
            self._timer.start()
        else:
            self._state.start_probe()
        self._show_probe()

    def _on_options(self) -> None:
        self._apply()
        self._timer.start()  # the chosen method's counts depend on its options

    def _apply(self) -> None:
        name = next((n for n, c in self.cards.items() if c.radio.isChecked()), None)
        if name is not None:
            self._state.set_method(name, self.options.values(skip_defaults=True) if self.options else {})
        self.changed.emit()

    def _show_probe(self) -> None:
        s = self._state
        busy = s.running("probe") or self._timer.isActive()
        cuda = (s.probe or {}).get("cuda")
        for name, card in self.cards.items():
            card.show_probe(s.probe_of(name), cuda, busy)
        self._mark_recommended()
        if s.probe_error and not busy:
            self.status.setText(f"Could not count the parameters: {s.probe_error}")
        elif s.methods:
            model = s.config["model"]
            self.status.setText(f"Counting the trainable parameters of each method on {model}…" if busy else
                                f"Trainable parameters of each method on {model} ({s.config['task']}):")
        self.changed.emit()

    def _mark_recommended(self) -> None:
        """Badge the default for this model and task (it can change once the memory estimate is known)."""
        rec = recommendation_for(self._state)
        self.recommended = rec.method if rec.method in self.cards else None
        for name, card in self.cards.items():
            card.set_recommended(rec.why if name == self.recommended else None)

    def error(self) -> str | None:
        """Why Next is disabled: no method, bad options or a method the model cannot take."""
        if not self.cards:
            return self._state.methods_error or "loading the methods…"
        name = self._state.config["method"].get("name")
        if name not in self.cards:
            return "method: choose a method"
        if self.options is not None and self.options.first_error():
            return self.options.first_error("method.")
        entry = self._state.probe_of(name)
        if entry is not None and "error" in entry and not self._state.running("probe"):
            return f"method: {name} cannot be used with this model: {entry['error']}"
        return None

    def summary(self) -> str:
        """The chosen method's probe line for the review (counts, or 'counting…')."""
        name = self._state.config["method"].get("name", "")
        return f"{name}: {counts_text(self._state.probe_of(name), (self._state.probe or {}).get('cuda'))}"

