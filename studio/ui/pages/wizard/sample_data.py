"""The Data step's quick choices: the bundled sample data files that suit the chosen task, one click each."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from studio.resource_files import samples_dir

# Which bundled file trains which task, with what it holds (studio/resources/samples/README.md).
SAMPLE_DATA = {
    "causal-lm": {"pirate_instructions.jsonl": "341 instructions answered in pirate speak"},
    "classification": {"topics.jsonl": "800 short texts in 4 topics (easy)",
                       "rankings.jsonl": "3000 contest reports labelled by finishing order (hard: word order)"},
    "preference": {"pirate_preferences.jsonl": "341 prompts, each with a chosen (pirate) and a rejected (plain) answer"},
}


class SampleDataRow(QWidget):
    """'Samples:' and a button per bundled file for the task; `picked(path)` when one is clicked."""

    picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Samples:"))
        self.buttons: dict[str, QPushButton] = {}
        for task, files in SAMPLE_DATA.items():
            for name, text in files.items():
                button = QPushButton(name)
                button.setToolTip(f"{text}; bundled with the studio in {samples_dir()}")
                button.clicked.connect(lambda _=False, n=name: self.picked.emit(str(samples_dir() / n)))
                button.setProperty("task", task)
                row.addWidget(button)
                self.buttons[name] = button
        row.addStretch(1)
        self.set_task("causal-lm")

    def set_task(self, task: str) -> None:
        """Show only the files that train `task` (every task has at least one)."""
        for button in self.buttons.values():
            button.setHidden(button.property("task") != task)

    def shown(self) -> list[str]:
        """The file names offered now."""
        return [name for name, b in self.buttons.items() if not b.isHidden()]
