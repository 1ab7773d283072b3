"""Compare → preference data: the "Export as preference data…" button. For each prompt, of two outputs rated
differently the higher-rated one becomes `chosen`; the JSONL written is one the wizard and `studio train`
accept (task: preference). The work is plain Python over the stored comparison, quick enough for the GUI
thread; afterwards the user can start a new run on the file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from studio.library.preference_export import export_preferences, preference_pairs
from studio.store import comparisons
from studio.ui.widgets.error_dialog import show_error

EXPORT_TIP = ("Save the rated outputs as preference pairs (JSONL: prompt / chosen / rejected): for each prompt, "
              "the higher-rated of two outputs is chosen; equal ratings give no pair")
NO_PAIRS_TIP = ("Rate at least two outputs of the same prompt differently (1-5 under each cell) to make a "
                "preference pair")
JSONL = "JSON Lines (*.jsonl)"


class PreferenceExportButton(QPushButton):
    """Enabled when the shown comparison's ratings make a pair; `use_data(path, base)` asks for a new run."""

    message = Signal(str)
    use_data = Signal(str, str)  # the written file, the comparison's base model

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__("Export as preference data…", parent)
        self._db = db
        self.comparison: dict[str, Any] | None = None
        self.box: QMessageBox | None = None  # the "written" message, kept for tests and to reuse
        self.clicked.connect(lambda: self.export())
        self.set_comparison(None)

    def set_comparison(self, c: dict[str, Any] | None) -> None:
        """The comparison on show (None: nothing); enables the button when its ratings make a pair."""
        self.comparison = c
        pairs = len(preference_pairs(c)[0]) if c else 0
        self.setEnabled(pairs > 0)
        self.setToolTip(f"{EXPORT_TIP} ({pairs} pair{'s' if pairs != 1 else ''} now)" if pairs else
                        NO_PAIRS_TIP if c else EXPORT_TIP)

    def export(self, path: str | None = None) -> dict[str, Any] | None:
        """Write the pairs (asking where unless `path` is given); returns the summary, None if not written."""
        if self.comparison is None:
            return None
        c = comparisons.get_comparison(self._db, self.comparison["id"])  # the latest ratings
        if path is None:
            default = str(Path.home() / f"preferences-comparison-{c['id']}.jsonl")
            path, _ = QFileDialog.getSaveFileName(self, "Export as preference data", default, JSONL)
            if not path:
                return None
        path = path if Path(path).suffix else path + ".jsonl"
        try:
            summary = export_preferences(c, path)
        except (OSError, ValueError) as e:
            show_error(self, "Export failed", f"Could not write {path}: {e}")
            return None
        text = summary_text(summary, path)
        self.message.emit(text)
        self._offer_run(text, path, c["base_model"])
        return summary

    def _offer_run(self, text: str, path: str, base: str) -> None:
        """Say what was written; "Use in a new run" opens the wizard on the file (not modal: tests go on)."""
        if self.box is None:
            self.box = QMessageBox(QMessageBox.Icon.Information, "Preference data written", "",
                                   QMessageBox.StandardButton.Close, self)
            self.use_button = self.box.addButton("Use in a new run", QMessageBox.ButtonRole.AcceptRole)
            self.use_button.setToolTip("Open the new-run wizard on this file: task preference, the same base model")
        self.box.setText(text)
        try:
            self.use_button.clicked.disconnect()
        except (RuntimeError, TypeError):
            pass  # nothing connected yet
        self.use_button.clicked.connect(lambda: self.use_data.emit(path, base))
        self.box.open()


def summary_text(summary: dict[str, Any], path: str) -> str:
    """'Wrote 6 preference pairs to FILE; skipped 2 output pairs (2 rated equally)'."""
    n, ties, same = summary.get("pairs", 0), summary.get("ties", 0), summary.get("identical", 0)
    why = ", ".join(x for x in (f"{ties} rated equally" if ties else "", f"{same} with the same text" if same else "")
                    if x)
    skipped = ties + same
    tail = f"; skipped {skipped} output pair{'s' if skipped != 1 else ''} ({why})" if skipped else ""
    return f"Wrote {n} preference pair{'s' if n != 1 else ''} to {path}{tail}"
