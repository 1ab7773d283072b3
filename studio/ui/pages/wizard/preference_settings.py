"""The Training step's preference settings (task: preference): the loss (DPO, KTO, ORPO), DPO's variant,
beta and the other PreferenceSpec fields, each with its one-line doc; fields of another loss are greyed."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from studio.config import ConfigError, build_dataclass
from studio.preference_config import PreferenceSpec
from studio.ui.pages.wizard.form import Form, specs_from_dataclass

TITLE = "Preference tuning (DPO / KTO / ORPO)"
KTO_FORMAT = "kto"  # data.format of prompt / completion / label rows (core/formats.py)
KTO_NOTE = "The training file holds single answers labelled good or bad, which only loss kto reads."
PAIRS_AS_KTO_NOTE = "kto reads single answers: each pair becomes a good (chosen) and a bad (rejected) one."
# Fields that only one loss reads; the rest (loss, beta ...) apply to every loss.
# PreferenceSpec refuses a changed value in them for another loss, so they are greyed and left out.
ONLY_FOR = {"dpo_loss_type": "dpo", "ftx": "dpo", "label_smoothing": "dpo",
            "kto_loss_type": "kto", "desirable_weight": "kto", "undesirable_weight": "kto"}


class PreferenceSettings(QGroupBox):
    """PreferenceSpec as a form; `section()` is the config's `preference` mapping."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TITLE, parent)
        self.setToolTip((PreferenceSpec.__doc__ or "").strip())
        self.form = Form(specs_from_dataclass(PreferenceSpec))
        self.note = QLabel()  # what the data's format means for the loss
        self.note.setWordWrap(True)
        self.note.hide()
        box = QVBoxLayout(self)
        box.addWidget(self.form)
        box.addWidget(self.note)
        self.form.changed.connect(self._on_change)
        self._grey_other_losses()

    def _on_change(self) -> None:
        self._grey_other_losses()
        self.changed.emit()

    def _grey_other_losses(self) -> None:
        loss = self.form.values().get("loss")
        for name, only in ONLY_FOR.items():
            if name in self.form.editors:
                on = loss == only
                self.form.editors[name].setEnabled(on)
                label = self.form.layout().labelForField(self.form.editors[name])
                if label is not None:
                    label.setEnabled(on)

    def fit_data(self, fmt: str | None) -> None:
        """Match the loss to the inspected data: a KTO file (single answers labelled good or bad) trains with
        loss kto only, so it is chosen; pairs under kto are split in two, which the note says."""
        if fmt == KTO_FORMAT and self.form.value("loss") != "kto":
            self.form.set_value("loss", "kto")
        loss = self.form.value("loss")
        text = (KTO_NOTE if fmt == KTO_FORMAT else PAIRS_AS_KTO_NOTE if loss == "kto" and fmt else "")
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def section(self) -> dict[str, Any]:
        """The `preference` section as entered (only the fields the chosen loss reads)."""
        values = self.form.values()
        return {k: v for k, v in values.items() if ONLY_FOR.get(k, values.get("loss")) == values.get("loss")}

    def load(self, section: dict[str, Any]) -> None:
        """Show a `preference` section (a config read back)."""
        for name, value in section.items():
            if name in self.form.editors:
                self.form.set_value(name, value)

    def error(self) -> str | None:
        """The first invalid field as preference.KEY, else None."""
        problem = self.form.first_error("preference.")
        if problem:
            return problem
        try:
            build_dataclass(PreferenceSpec, self.section(), "preference")
        except ConfigError as e:
            return str(e)
        return None

