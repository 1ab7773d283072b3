"""What to compare: a base model, the library adapters trained on it (checked ones become columns), a
'base only' column, prompts (typed or from a file), an optional eval file and the generation settings.
It builds the `studio compare ... --json` arguments; the page runs them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from studio.core import prompt_file
from studio.store.comparisons import BASE
from studio.ui.widgets.error_dialog import show_error

REF_ROLE = Qt.ItemDataRole.UserRole + 1
DECODING = ("Greedy", "Sampling")


def read_prompts(path: str | Path) -> list[str]:
    """A prompts file's prompts, one per editor line (whitespace inside a prompt folded)."""
    return [" ".join(text.split()) for text in prompt_file.read_prompts(path)]


def folder_base(folder: str | Path) -> str | None:
    """The base an adapter folder names: studio.json's base_model, else PEFT's base_model_name_or_path."""
    for name, key in (("studio.json", "base_model"), ("adapter_config.json", "base_model_name_or_path")):
        try:
            value = json.loads((Path(folder) / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if value:
            return str(value)
    return None


class CompareSetup(QWidget):
    """The form; `changed()` when anything that decides the run changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library: list[dict[str, Any]] = []
        self.extra: list[str] = []  # folders (e.g. a merge preview) shown beside the library's adapters
        self.order: list[str] = []  # adapters asked for by set_adapters: listed first, in that order
        self.base = QComboBox()
        self.base.setEditable(True)
        self.base.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.base.setToolTip("The base model every column runs on: a library adapter's base, or any model "
                             "folder, sample:NAME or Hub id typed here")
        self.base.currentTextChanged.connect(self._fill_adapters)
        self.adapters = QListWidget()
        self.adapters.setToolTip("Adapters trained on this base; each checked one becomes a column")
        self.adapters.setMaximumHeight(130)
        self.adapters.itemChanged.connect(lambda _item: self.changed.emit())
        self.base_only = QCheckBox("Base only column")
        self.base_only.setChecked(True)
        self.base_only.setToolTip("Add a column with the base model alone, to see what each adapter changes")
        self.base_only.toggled.connect(lambda _on: self.changed.emit())

        self.prompts = QPlainTextEdit()
        self.prompts.setPlaceholderText("One prompt per line, e.g.\nWrite a haiku about the sea.\n"
                                        "What is the capital of France?")
        self.prompts.setToolTip("Each line is one prompt: one row of the grid")
        self.prompts.textChanged.connect(self.changed.emit)
        load = QPushButton("Load from file…")
        load.setToolTip("Read prompts from a text file (one per line) or a .jsonl file with a \"prompt\" field")
        load.clicked.connect(self.load_prompts)
        self.eval_file = QLineEdit()
        self.eval_file.setPlaceholderText("optional: labelled or held-out data file")
        self.eval_file.setToolTip("Classification: accuracy and macro-F1 on this labelled file; causal-lm: "
                                  "eval loss and perplexity on this held-out file — one value per column")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the eval file")
        browse.clicked.connect(self.browse_eval)
        eval_row = QHBoxLayout()
        eval_row.addWidget(self.eval_file, 1)
        eval_row.addWidget(browse)

        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("Seed set before every cell, so a rerun gives the same grid")
        self.max_new_tokens = QSpinBox(minimum=1, maximum=4096, value=40)
        self.max_new_tokens.setToolTip("Tokens generated per cell (at most)")
        self.decoding = QComboBox()
        self.decoding.addItems(DECODING)
        self.decoding.setToolTip("Greedy: always the likeliest token (deterministic); Sampling: draw tokens "
                                 "with the temperature and top-p below")
        self.decoding.currentTextChanged.connect(self._update_sampling)
        self.temperature = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=5.0, singleStep=0.1, value=1.0)
        self.temperature.setToolTip("Sampling temperature: below 1 sharper, above 1 more varied")
        self.top_p = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=1.0, singleStep=0.05, value=1.0)
        self.top_p.setToolTip("Nucleus sampling: draw only from the likeliest tokens that make up this much "
                              "probability")
        self.raw = QCheckBox("Send prompts as typed")
        self.raw.setToolTip("Off: prompts are rendered as training renders an instruction (chat template or "
                            "Alpaca prompt). On: sent exactly as typed")
        settings = QGroupBox("Generation")
        form = QFormLayout(settings)
        form.addRow("Decoding:", self.decoding)
        form.addRow("Max new tokens:", self.max_new_tokens)
        form.addRow("Seed:", self.seed)
        form.addRow("Temperature:", self.temperature)
        form.addRow("Top-p:", self.top_p)
        form.addRow(self.raw)
        self.name = QLineEdit()
        self.name.setPlaceholderText("optional: a name for the saved comparison")
        self.name.setToolTip("Name under which the comparison is saved (default: base and columns)")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.addRow("Base model:", self.base)
        layout.addLayout(top)
        layout.addWidget(QLabel("Adapters:"))
        layout.addWidget(self.adapters)
        layout.addWidget(self.base_only)
        prompts_head = QHBoxLayout()
        prompts_head.addWidget(QLabel("Prompts:"), 1)
        prompts_head.addWidget(load)
        layout.addLayout(prompts_head)
        layout.addWidget(self.prompts, 1)
        layout.addWidget(QLabel("Eval file:"))
        layout.addLayout(eval_row)
        layout.addWidget(settings)
        layout.addWidget(self.name)
        self._update_sampling()

    def set_library(self, rows: list[dict[str, Any]]) -> None:
        """The library's adapters (store rows); the base list is their bases."""
        self.library = rows
        current = self.base.currentText()
        bases = list(dict.fromkeys(r["base_model"] for r in rows if r.get("base_model")))
        self.base.blockSignals(True)
        self.base.clear()
        self.base.addItems(bases)
        self.base.setEditText(current or (bases[0] if bases else ""))
        self.base.blockSignals(False)
        self._fill_adapters()

    def set_adapters(self, items: list[str], base: str | None = None) -> None:
        """Check exactly these adapters (library names or folders) on their base (or `base`)."""
        names = {r["name"]: r for r in self.library}
        self.extra = [i for i in items if i not in names]
        self.order = list(items)
        if base is None:
            first = items[0] if items else None
            base = (names[first].get("base_model") if first in names else folder_base(first)) if first else None
        self.base.setEditText(base or self.base.currentText())
        self._fill_adapters(checked=set(items))

    def load(self, c: dict[str, Any]) -> None:
        """Set the form from a saved comparison, to run it again with changes."""
        names = {r["name"] for r in self.library}
        paths = c.get("adapter_paths") or {}
        self.set_adapters([col if col in names else paths.get(col, col) for col in c["adapters"] if col != BASE],
                          c["base_model"])
        self.base_only.setChecked(BASE in c["adapters"])
        self.prompts.setPlainText("\n".join(" ".join(p.split()) for p in c.get("prompts") or []))
        self.eval_file.setText(c.get("eval_file") or "")
        s = c.get("settings") or {}
        self.max_new_tokens.setValue(int(s.get("max_new_tokens", 40)))
        self.seed.setValue(int(s.get("seed", 0)))
        self.decoding.setCurrentText(DECODING[1] if s.get("sample") else DECODING[0])
        self.temperature.setValue(float(s.get("temperature", 1.0)))
        self.top_p.setValue(float(s.get("top_p", 1.0)))
        self.raw.setChecked(s.get("prompt_format") == "raw")

    def _fill_adapters(self, *_args: Any, checked: set[str] | None = None) -> None:
        keep = checked if checked is not None else set(self.checked_adapters())
        base = self.base.currentText().strip()
        self.adapters.blockSignals(True)
        self.adapters.clear()
        rank = {ref: i for i, ref in enumerate(self.order)}
        rows = [r for r in self.library if r.get("base_model") == base]
        entries = [(r["name"], f"{r.get('method')} · {r['path']}", r["name"]) for r in rows] + \
                  [(f, "a folder outside the library (e.g. a merge preview)", f"{Path(f).name} (folder)")
                   for f in self.extra]
        for ref, tip, label in sorted(entries, key=lambda e: rank.get(e[0], len(rank))):  # stable
            self._add_item(ref, tip, ref in keep, label)
        if not self.adapters.count():
            item = QListWidgetItem("No library adapters for this base")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.adapters.addItem(item)
        self.adapters.blockSignals(False)
        self.changed.emit()

    def _add_item(self, ref: str, tip: str, checked: bool, label: str | None = None) -> None:
        item = QListWidgetItem(label or ref)
        item.setData(REF_ROLE, ref)
        item.setToolTip(tip)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.adapters.addItem(item)

    def checked_adapters(self) -> list[str]:
        """Library names (or folders) of the checked adapters, in list order."""
        items = (self.adapters.item(i) for i in range(self.adapters.count()))
        return [i.data(REF_ROLE) for i in items if i.data(REF_ROLE) and i.checkState() == Qt.CheckState.Checked]

    def prompt_lines(self) -> list[str]:
        """The prompts typed (one per non-empty line)."""
        return [ln.rstrip() for ln in self.prompts.toPlainText().splitlines() if ln.strip()]

    def problem(self) -> str | None:
        """Why the comparison cannot run yet (None when it can)."""
        if not self.base.currentText().strip():
            return "Choose a base model."
        if not self.checked_adapters() and not self.base_only.isChecked():
            return "Check at least one adapter, or the base only column."
        if not self.prompt_lines() and not self.eval_file.text().strip():
            return "Type some prompts (one per line), or choose an eval file."
        return None

    def command(self, prompts_file: str | None) -> list[str]:
        """The `studio compare` arguments (prompts already written to prompts_file)."""
        args = ["compare", "--base", self.base.currentText().strip()]
        for ref in self.checked_adapters():
            args += ["--adapter", ref]
        if not self.base_only.isChecked():
            args.append("--no-base")
        if prompts_file:
            args += ["--prompts", prompts_file]
        if self.eval_file.text().strip():
            args += ["--eval", str(Path(self.eval_file.text().strip()).expanduser())]
        args += ["--max-new-tokens", str(self.max_new_tokens.value()), "--seed", str(self.seed.value())]
        if self.decoding.currentText() == "Sampling":
            args += ["--sample", "--temperature", f"{self.temperature.value():g}", "--top-p",
                     f"{self.top_p.value():g}"]
        if self.raw.isChecked():
            args.append("--raw")
        if self.name.text().strip():
            args += ["--name", self.name.text().strip()]
        return [*args, "--json"]

    def _update_sampling(self) -> None:
        sampling = self.decoding.currentText() == "Sampling"
        self.temperature.setEnabled(sampling)
        self.top_p.setEnabled(sampling)

    def load_prompts(self) -> None:
        """Replace the prompts with those of a file."""
        path, _ = QFileDialog.getOpenFileName(self, "Load prompts", "", "Prompts (*.txt *.jsonl);;All files (*)")
        if not path:
            return
        try:
            self.prompts.setPlainText("\n".join(read_prompts(path)))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            show_error(self, "Could not load prompts", str(e))

    def browse_eval(self) -> None:
        """Choose the eval file."""
        path, _ = QFileDialog.getOpenFileName(self, "Eval file", "", "Data (*.jsonl *.json *.csv *.txt);;All files (*)")
        if path:
            self.eval_file.setText(path)
