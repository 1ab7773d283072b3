"""Which model the chat talks to: a base (library adapters' bases, causal-lm samples, or typed) and one of
its causal-lm adapters, or none. Classification adapters are counted and not offered, saying why."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

NONE_LABEL = "none (base model only)"


class ChatModelPicker(QGroupBox):
    """`load_requested()` on Load; `adapter_picked(name or None)` when the adapter choice changes."""

    load_requested = Signal()
    adapter_picked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.library: list[dict[str, Any]] = []
        self.samples: list[str] = []
        self.base = QComboBox()
        self.base.setEditable(True)
        self.base.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.base.setToolTip("The base model: one your library adapters were trained on, a sample, or any model "
                             "folder, sample:NAME or Hub id typed here")
        self.base.currentTextChanged.connect(self._fill_adapters)
        self.adapter = QComboBox()
        self.adapter.setToolTip("The adapter on top of the base; switching swaps it in without reloading the base")
        self.adapter.currentIndexChanged.connect(lambda _i: self.adapter_picked.emit(self.adapter_name()))
        self.not_offered = QLabel()
        self.not_offered.setWordWrap(True)
        self.not_offered.setStyleSheet("color: gray")
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load the base model in a separate process (once; adapters then swap in)")
        self.load_button.clicked.connect(self.load_requested.emit)
        form = QFormLayout()
        form.addRow("Base:", self.base)
        form.addRow("Adapter:", self.adapter)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.not_offered)
        layout.addWidget(self.load_button)

    def set_library(self, rows: list[dict[str, Any]], samples: list[str] | None = None) -> None:
        """The library's adapters (store rows) and causal-lm sample refs; keeps the current choice."""
        self.library = rows
        self.samples = list(samples or self.samples)
        current, adapter = self.base.currentText(), self.adapter_name()
        bases = list(dict.fromkeys([*(r["base_model"] for r in rows if r.get("base_model")
                                      and r.get("task") in (None, "causal-lm")), *self.samples]))
        self.base.blockSignals(True)
        self.base.clear()
        self.base.addItems(bases)
        self.base.setEditText(current or (bases[0] if bases else ""))
        self.base.blockSignals(False)
        self._fill_adapters(keep=adapter)

    def _fill_adapters(self, *_args: Any, keep: str | None = None) -> None:
        base = self.base_ref()
        keep = keep if keep is not None else self.adapter_name()
        mine = [r for r in self.library if r.get("base_model") == base]
        usable = [r for r in mine if r.get("task") in (None, "causal-lm")]
        classifiers = [r["name"] for r in mine if r not in usable]
        self.adapter.blockSignals(True)
        self.adapter.clear()
        self.adapter.addItem(NONE_LABEL, None)
        for r in usable:
            self.adapter.addItem(r["name"], r["name"])
            self.adapter.setItemData(self.adapter.count() - 1, f"{r.get('method')} · {r['path']}",
                                     Qt.ItemDataRole.ToolTipRole)
        index = self.adapter.findData(keep) if keep else 0
        self.adapter.setCurrentIndex(max(0, index))
        self.adapter.blockSignals(False)
        one = len(classifiers) == 1
        self.not_offered.setText(
            f"Not offered: {', '.join(classifiers)} — "
            + ("a classification adapter predicts labels and does not generate text; compare it" if one else
               "classification adapters predict labels and do not generate text; compare them")
            + " on the Compare page." if classifiers else "")
        self.not_offered.setVisible(bool(classifiers))

    def base_ref(self) -> str:
        """The base as typed or picked."""
        return self.base.currentText().strip()

    def adapter_name(self) -> str | None:
        """The picked adapter's library name, None for the base alone."""
        return self.adapter.currentData()

    def select(self, base: str, adapter: str | None) -> None:
        """Pick this base and adapter (e.g. from the Adapters page)."""
        self.base.setEditText(base)
        self._fill_adapters(keep=adapter)


def sample_refs() -> list[str]:
    """The sample models that generate text (sample:smollm2): a GGUF file, or a config that is no encoder.

    Only config.json is read (the Models page's full header scan would hold up the page's first show)."""
    import json

    from studio.modelinfo.memory import ENCODERS
    from studio.modelinfo.sources import SAMPLE_PREFIX, SAMPLES, ModelNotFound, resolve_model

    refs = []
    for name in SAMPLES:
        try:
            src = resolve_model(SAMPLE_PREFIX + name)
            if not src.gguf_file:
                config = json.loads((Path(src.path) / "config.json").read_text(encoding="utf-8"))
                archs = config.get("architectures") or []
                if config.get("model_type") in ENCODERS or any(a.endswith("ForSequenceClassification") for a in archs):
                    continue
        except (ModelNotFound, OSError, ValueError):  # a missing or broken sample is simply not offered
            continue
        refs.append(SAMPLE_PREFIX + name)
    return refs
