"""The editor of training.activation_checkpointing: off | on | offload, or every N blocks (a spin box)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QWidget

EVERY_N = "every N blocks"
CHOICE_TIPS = {
    "off": "Keep every block's activations (fastest, most memory)",
    "on": "Recompute every block in the backward pass (least activation memory, about 20-30% slower)",
    "offload": "Recompute every block and keep its saved input in pinned CPU memory (CUDA only)",
    EVERY_N: "Recompute only every N-th block: between 'off' and 'on' in both memory and speed",
}


class CheckpointingEditor(QWidget):
    """A choice plus a block count; `value()` is what the config holds ('on', {'every_n': 2}, ...)."""

    changed = Signal()
    edited = Signal()

    def __init__(self, choices: tuple[str, ...], default: Any = "off", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QComboBox()
        for i, choice in enumerate((*choices, EVERY_N)):
            self.box.addItem(choice, choice)
            self.box.setItemData(i, CHOICE_TIPS.get(choice, ""), Qt.ItemDataRole.ToolTipRole)
        self.every = QSpinBox()
        self.every.setRange(1, 1024)
        self.every.setValue(2)  # every second block: half the recompute of 'on'
        self.every.setPrefix("every ")
        self.every.setSuffix(" blocks")
        self.every.setToolTip("N: blocks 0, N, 2N, ... are recomputed in the backward pass")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box, 1)
        layout.addWidget(self.every)
        self.set_value(default)
        self.box.currentIndexChanged.connect(self._on_change)
        self.every.valueChanged.connect(self._on_change)
        self.box.activated.connect(lambda _i: self.edited.emit())
        self.every.editingFinished.connect(self.edited.emit)

    def _on_change(self, *_args: Any) -> None:
        self.every.setEnabled(self.box.currentData() == EVERY_N)
        self.changed.emit()

    def value(self) -> Any:
        """'off' | 'on' | 'offload' | {'every_n': N}."""
        choice = self.box.currentData()
        return {"every_n": self.every.value()} if choice == EVERY_N else choice

    def set_value(self, value: Any) -> None:
        """Show a config value (a mapping selects 'every N blocks' with its N)."""
        if isinstance(value, dict):
            self.every.setValue(int(value.get("every_n", 2)))
            value = EVERY_N
        self.box.setCurrentIndex(max(0, self.box.findData(value)))
        self.every.setEnabled(value == EVERY_N)
