"""Combine two or more LoRA adapters of one base (linear, TIES, DARE ...) by `studio merge --json` in a
child process: first a preview folder to try in Compare, then, if it is good, a new library adapter."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from studio.paths import Home
from studio.ui.widgets.adapter_progress import CliProgress
from studio.ui.widgets.error_dialog import show_error

# PEFT's add_weighted_adapter combinations offered here (studio.library.merge.COMBINATIONS has them all).
METHODS = {"linear": "weighted sum of the LoRA updates (ranks must match)",
           "ties": "TIES: trim small values, elect a sign per weight, average those that agree",
           "dare_linear": "DARE: drop values at random, rescale the rest, then a weighted sum",
           "dare_ties": "DARE pruning followed by TIES sign election",
           "magnitude_prune": "keep the largest values of each update, then a weighted sum",
           "cat": "concatenate the LoRA matrices (rank adds up; exact, any ranks)",
           "svd": "weighted sum re-factorised by SVD (any ranks; slower)"}
COMBINABLE = ("lora", "qlora")


def needs_density(method: str) -> bool:
    """Whether a combination prunes (TIES, DARE, magnitude) and so takes a density."""
    return method.startswith(("ties", "dare", "magnitude"))


def merge_args(names: list[str], weights: list[float], method: str, density: float | None, *,
               out: str | None = None, name: str | None = None) -> list[str]:
    """The `studio merge` arguments: --out DIR (a preview) or --name NEW (into the library)."""
    args = ["merge", *names, "--weights", *(f"{w:g}" for w in weights), "--method", method]
    if needs_density(method) and density is not None:
        args += ["--density", f"{density:g}"]
    args += ["--out", str(out)] if out is not None else ["--name", str(name)]
    return [*args, "--json"]


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """What stops these adapters from being combined, read from their library rows."""
    found = [] if len(rows) >= 2 else ["select two or more adapters"]
    for r in rows:
        if r.get("method") not in COMBINABLE:
            found.append(f"{r['name']} is a {r.get('method')} adapter; only LoRA (and QLoRA) adapters combine")
        elif r.get("task") not in (None, "causal-lm"):
            found.append(f"{r['name']} is a {r.get('task')} adapter; only causal-lm adapters combine")
    if len({r.get("base_model") for r in rows}) > 1:
        found.append("the adapters have different bases: " + ", ".join(f"{r['name']} ({r.get('base_model')})"
                                                                      for r in rows))
    return found


def preview_folder(home: Home) -> Path:
    """A new folder name under the home's previews/ for one merge preview."""
    root = home.root / "previews"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, k = root / f"merge-{stamp}", 2
    while folder.exists():
        folder, k = root / f"merge-{stamp}-{k}", k + 1
    return folder


class MergeDialog(QDialog):
    """Weights per adapter, combination and density; Preview → Compare, or Save to library."""

    compare_requested = Signal(list)  # the source adapters' names and the preview folder
    saved = Signal(object)            # {"name", "path"} of the new library adapter

    def __init__(self, home: Home, rows: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self.rows = home, rows
        self.names = [r["name"] for r in rows]
        self.preview: str | None = None
        self._pending: str | None = None  # "preview" | "save" while the child runs
        self.setWindowTitle("Merge adapters")
        intro = QLabel("Combine LoRA adapters of one base into a new LoRA adapter. Preview the result first "
                       "and try it in Compare; save it to the library when it does what you want.")
        intro.setWordWrap(True)
        self.warning = QLabel("\n".join(problems(rows)))
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d9534f;")
        self.warning.setVisible(bool(problems(rows)))

        form = QFormLayout()
        self.weights: list[QDoubleSpinBox] = []
        for name in self.names:
            spin = QDoubleSpinBox(decimals=3, minimum=-10.0, maximum=10.0, singleStep=0.1)
            spin.setValue(round(1.0 / max(1, len(self.names)), 3))
            spin.setToolTip(f"How much of {name}'s update goes into the result (negative subtracts it)")
            self.weights.append(spin)
            form.addRow(f"Weight of {name}:", spin)
        self.method = QComboBox()
        for key, doc in METHODS.items():
            self.method.addItem(key)
            self.method.setItemData(self.method.count() - 1, doc, Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How the updates are combined:\n" + "\n".join(f"{k}: {v}" for k, v in METHODS.items()))
        self.method.currentTextChanged.connect(self._update)
        self.density = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=1.0, singleStep=0.05, value=0.5)
        self.density.setToolTip("Fraction of each update's values kept by TIES, DARE and magnitude pruning")
        self.name = QLineEdit(f"{'+'.join(self.names)}-merged"[:100])
        self.name.setToolTip("Name of the new library adapter (letters, digits, space, '.', '_', '+', '-')")
        form.addRow("Combination:", self.method)
        form.addRow("Density:", self.density)
        form.addRow("Library name:", self.name)

        self.progress = CliProgress(home)
        self.progress.done.connect(self._done)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        add = lambda text, tip, role: self._button(text, tip, role)  # noqa: E731
        self.preview_button = add("Preview", "Combine into a preview folder (not the library) to try it",
                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.compare_button = add("Compare", "Open the Compare page with the preview beside its sources",
                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button = add("Save to library", "Combine again straight into the library under the name above",
                               QDialogButtonBox.ButtonRole.ActionRole)
        self.preview_button.clicked.connect(self.start_preview)
        self.compare_button.clicked.connect(self.compare)
        self.save_button.clicked.connect(self.start_save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.warning)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self._update()

    def _button(self, text: str, tip: str, role: QDialogButtonBox.ButtonRole) -> Any:
        button = self.buttons.addButton(text, role)
        button.setToolTip(tip)
        return button

    def _update(self) -> None:
        busy = self._pending is not None
        blocked = bool(problems(self.rows))
        self.density.setEnabled(needs_density(self.method.currentText()))
        self.preview_button.setEnabled(not busy and not blocked)
        self.save_button.setEnabled(not busy and not blocked)
        self.compare_button.setEnabled(not busy and self.preview is not None)

    def values(self) -> tuple[list[float], str, float | None]:
        """(weights, combination, density or None)."""
        method = self.method.currentText()
        return [s.value() for s in self.weights], method, self.density.value() if needs_density(method) else None

    def start_preview(self) -> None:
        """Combine into a new folder under previews/."""
        weights, method, density = self.values()
        out = preview_folder(self._home)
        self._run("preview", merge_args(self.names, weights, method, density, out=str(out)))

    def start_save(self) -> None:
        """Combine into the library under the chosen name."""
        name = self.name.text().strip()
        if not name:
            self.status.setText("Give the new adapter a name.")
            return
        weights, method, density = self.values()
        self._run("save", merge_args(self.names, weights, method, density, name=name))

    def _run(self, kind: str, args: list[str]) -> None:
        self._pending = kind
        self.status.setText("Merging… (the base model loads in a separate process)")
        self._update()
        self.progress.start(args)

    def _done(self, result: Any, error: Any) -> None:
        kind, self._pending = self._pending, None
        if error is not None:
            self.status.setText(f"Merge failed: {error}")
            show_error(self, "Merge failed", f"Merging {', '.join(self.names)} failed: {error}")
        elif kind == "preview":
            self.preview = str(result["path"])
            self.status.setText(f"Preview ready in {self.preview}. Compare it with its sources, or save it.")
        else:
            self.status.setText(f"Saved to the library as {result['name']}.")
            self.saved.emit(result)
        self._update()

    def compare(self) -> None:
        """Ask for the Compare page with the sources and the preview."""
        if self.preview:
            self.compare_requested.emit([*self.names, self.preview])
            self.accept()

    def reject(self) -> None:
        """Close; a running merge is killed (it writes atomically: nothing half-done stays)."""
        self.progress.cancel()
        super().reject()
