"""The chat's decoding settings: greedy or sampled (temperature, top-p, top-k), length, repetition penalty,
seed, and the system prompt; `sampling()` is the request's "sampling" object (limits as the child checks)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QPlainTextEdit, QSpinBox,
                               QVBoxLayout, QWidget)

from studio.core.chat_request import LIMITS, Sampling

RANDOM_SEED = -1  # the seed box's special value: a fresh seed for every reply


class ChatControls(QWidget):
    """System prompt and sampling settings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = Sampling()
        self.system = QPlainTextEdit()
        self.system.setPlaceholderText("optional, e.g. You are a concise assistant.")
        self.system.setToolTip("Sent first as the system turn of every request (templates without a system "
                               "role get it at the start of the first user turn)")
        self.system.setMaximumHeight(80)
        self.greedy = QCheckBox("Greedy (always the likeliest token)")
        self.greedy.setToolTip("On: deterministic replies, temperature/top-p/top-k unused. Off: sampled")
        self.greedy.toggled.connect(self._update)
        self.temperature = self._double(d.temperature, "temperature", 0.05, "Below 1 sharper, above 1 more varied")
        self.top_p = self._double(d.top_p, "top_p", 0.05, "Nucleus sampling: draw only from the likeliest tokens "
                                  "that make up this much probability")
        self.top_k = QSpinBox(minimum=0, maximum=int(LIMITS["top_k"][2]), value=d.top_k)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Draw only from the k likeliest tokens (off: no cut)")
        self.max_new_tokens = QSpinBox(minimum=1, maximum=int(LIMITS["max_new_tokens"][2]), value=d.max_new_tokens)
        self.max_new_tokens.setToolTip("Longest reply, in tokens (the model may end sooner)")
        self.repetition_penalty = self._double(d.repetition_penalty, "repetition_penalty", 0.05,
                                               "Above 1 discourages repeating tokens already in the text; 1 = off")
        self.seed = QSpinBox(minimum=RANDOM_SEED, maximum=2**31 - 1, value=RANDOM_SEED)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("A fixed seed gives the same sampled reply again (Regenerate); random: a new one")

        box = QGroupBox("Sampling")
        form = QFormLayout(box)
        form.addRow(self.greedy)
        form.addRow("Temperature:", self.temperature)
        form.addRow("Top-p:", self.top_p)
        form.addRow("Top-k:", self.top_k)
        form.addRow("Max new tokens:", self.max_new_tokens)
        form.addRow("Repetition penalty:", self.repetition_penalty)
        form.addRow("Seed:", self.seed)
        system_box = QGroupBox("System prompt")
        QVBoxLayout(system_box).addWidget(self.system)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(system_box)
        layout.addWidget(box)
        self._update()

    @staticmethod
    def _double(value: float, key: str, step: float, tip: str) -> QDoubleSpinBox:
        _kind, low, high, _open = LIMITS[key]
        box = QDoubleSpinBox(decimals=2, minimum=max(low, 0.01), maximum=high, singleStep=step, value=value)
        box.setToolTip(tip)
        return box

    def _update(self) -> None:
        sampled = not self.greedy.isChecked()
        for w in (self.temperature, self.top_p, self.top_k, self.seed):
            w.setEnabled(sampled)

    def system_prompt(self) -> str:
        """The system prompt as typed."""
        return self.system.toPlainText()

    def sampling(self) -> dict[str, Any]:
        """The request's sampling object."""
        return {"greedy": self.greedy.isChecked(), "temperature": self.temperature.value(),
                "top_p": self.top_p.value(), "top_k": self.top_k.value(),
                "max_new_tokens": self.max_new_tokens.value(),
                "repetition_penalty": self.repetition_penalty.value(),
                "seed": None if self.seed.value() == RANDOM_SEED else self.seed.value()}
