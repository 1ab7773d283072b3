"""Wizard step 1: which model (folder, hub id, .gguf file or a bundled sample), the task, the run name."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from studio.config import TASKS, RunConfig, field_docs
from studio.modelinfo.sources import SAMPLE_PREFIX, SAMPLES, ModelNotFound, resolve_model
from studio.ui.pages.wizard.state import unique_name

# Quick choices: the samples that ship inside PyPI packages, and the task each one suits.
SAMPLE_TASKS = {"minilm": "classification", "smollm2": "causal-lm"}
_NAME = re.compile(r"[A-Za-z0-9][\w.-]*")
# How a task reads in the Task box (the config keeps the bare name).
TASK_LABELS = {"preference": "preference (DPO / KTO / ORPO)"}
TASK_TIPS = {"preference": "Tune a causal language model on pairs of a chosen and a rejected answer (DPO, ORPO) "
                           "or on answers marked good or bad (KTO)"}


# A preference run named '…-ft-2' read as another supervised run beside '…-ft' (issue 12, QA round 2);
# 'pref' holds whichever of DPO / KTO / ORPO the Training step picks.
TASK_NAME_SUFFIX = {"preference": "pref"}


def suggested_name(ref: str, task: str | None = None) -> str:
    """A run name from a model reference: 'gpt2-ft' for /models/gpt2, 'smollm2-pref' for a preference run."""
    stem = ref.removeprefix(SAMPLE_PREFIX).rstrip("/\\").replace("\\", "/").split("/")[-1]
    stem = re.sub(r"[^\w.-]+", "-", Path(stem).stem if stem.lower().endswith(".gguf") else stem).strip("-.")
    return f"{stem}-{TASK_NAME_SUFFIX.get(task or '', 'ft')}" if stem else ""


class ModelStep(QWidget):
    """Model reference with Browse… buttons and sample quick choices; task; run name."""

    title = "Model"
    changed = Signal()
    load_requested = Signal(str)  # a config file to fill every step from

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._name_edited = False
        self._suggested = ""  # the name last proposed from the model (it follows the model until edited)
        self._taken_names: set[str] | None = None  # run and adapter names in the store (read once per visit)
        state.renamed.connect(self._on_renamed)
        docs = field_docs(RunConfig)
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("model folder, hub id (owner/name), .gguf file or sample:NAME")
        self.model_edit.setToolTip(docs["model"])
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Choose a local model folder (config.json + weights)")
        self.folder_button.clicked.connect(self._browse_folder)
        self.gguf_button = QPushButton("GGUF file…")
        self.gguf_button.setToolTip("Choose a .gguf file (converted to safetensors once, for training)")
        self.gguf_button.clicked.connect(self._browse_gguf)
        pick = QHBoxLayout()
        pick.addWidget(self.model_edit, 1)
        pick.addWidget(self.folder_button)
        pick.addWidget(self.gguf_button)
        samples = QHBoxLayout()
        samples.addWidget(QLabel("Samples:"))
        self.sample_buttons: dict[str, QPushButton] = {}
        for name, (text, _find) in SAMPLES.items():
            button = QPushButton(f"{SAMPLE_PREFIX}{name}")
            button.setToolTip(f"{text}; suits {SAMPLE_TASKS.get(name, 'causal-lm')}")
            button.clicked.connect(lambda _=False, n=name: self._pick_sample(n))
            samples.addWidget(button)
            self.sample_buttons[name] = button
        samples.addStretch(1)

        self.task_box = QComboBox()
        for task in TASKS:
            self.task_box.addItem(TASK_LABELS.get(task, task), task)
            if task in TASK_TIPS:
                self.task_box.setItemData(self.task_box.count() - 1, TASK_TIPS[task], Qt.ItemDataRole.ToolTipRole)
        self.task_box.setToolTip(docs["task"])
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. pirate-lora")
        self.name_edit.setToolTip(docs["name"] + " (letters, digits, '-', '_', '.')")
        self.remote_code = QCheckBox("Run the model's own Python code")
        self.remote_code.setToolTip(docs["trust_remote_code"])
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.load_button = QPushButton("Load config…")
        self.load_button.setToolTip("Fill every step from a run config (.yaml or .json): one the wizard saved "
                                    "under configs/ or one written by hand")
        self.load_button.clicked.connect(self._browse_config)
        load_row = QHBoxLayout()
        load_row.addWidget(QLabel("Set up a new run below, or start from a saved config:"))
        load_row.addWidget(self.load_button)
        load_row.addStretch(1)
        form = QFormLayout()
        form.addRow(load_row)
        form.addRow("Model", pick)
        form.addRow("", samples)
        form.addRow("Task", self.task_box)
        form.addRow("Run name", self.name_edit)
        form.addRow("", self.remote_code)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.model_edit.textChanged.connect(self._on_model)
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.name_edit.textChanged.connect(lambda _t: self._apply())
        self.task_box.currentTextChanged.connect(lambda _t: self._on_model())
        self.remote_code.toggled.connect(lambda _on: self._apply())

    def set_model(self, ref: str) -> None:
        """Fill in a model reference (as if typed); a sample also picks its task."""
        name = ref.removeprefix(SAMPLE_PREFIX)
        # A causal-LM sample suits preference tuning too: a chosen preference task is kept.
        keep = SAMPLE_TASKS.get(name) == "causal-lm" and self.task_box.currentData() == "preference"
        if ref.startswith(SAMPLE_PREFIX) and name in SAMPLE_TASKS and not keep:
            self.task_box.setCurrentIndex(self.task_box.findData(SAMPLE_TASKS[name]))
        self.model_edit.setText(ref)

    def _pick_sample(self, name: str) -> None:
        self.set_model(f"{SAMPLE_PREFIX}{name}")

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_edit.text())
        if folder:
            self.set_model(folder)

    def _browse_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "GGUF model file", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.set_model(path)

    def _browse_config(self) -> None:
        start = self._state.home.root / "configs"
        path, _ = QFileDialog.getOpenFileName(self, "Run config", str(start if start.is_dir() else Path.home()),
                                              "Run configs (*.yaml *.yml *.json);;All files (*)")
        if path:
            self.load_requested.emit(path)

    def show_problem(self, text: str) -> None:
        """A config that could not be loaded: its error (file and field) in red under the form."""
        self.status.setStyleSheet("color:#c0392b;")
        self.status.setText(text)

    def _on_name_edited(self, text: str) -> None:
        self._name_edited = text.strip() not in ("", self._suggested)  # typed back to the proposal: it follows

    def _on_model(self, _text: str = "") -> None:
        if not self._name_edited:  # the name follows the model and task until the user types their own
            wanted = suggested_name(self.model_edit.text().strip(), self.task_box.currentData())
            self._suggested = unique_name(wanted, self._taken())
            self.name_edit.setText(self._suggested)
        self._apply()

    def _taken(self) -> set[str]:
        if self._taken_names is None:
            self._taken_names = self._state.taken_names()
        return self._taken_names

    def _on_renamed(self, name: str) -> None:
        """Start gave the run a free name: show it here (it is what the config now says)."""
        self._suggested = name if not self._name_edited else self._suggested
        self.name_edit.setText(name)

    def fill(self, config: dict[str, Any]) -> None:
        """Show a whole config's model, task, name and remote-code choice (Load config…, clone, fresh)."""
        self._name_edited, self._suggested, self._taken_names = False, "", None
        task = config.get("task") or "causal-lm"
        index = self.task_box.findData(task)
        self.task_box.setCurrentIndex(index if index >= 0 else self.task_box.findText(task))
        self.remote_code.setChecked(bool(config.get("trust_remote_code")))
        self.model_edit.setText(config.get("model") or "")
        name = config.get("name") or ""
        if name:  # a loaded or cloned name is kept as given; Start proposes a free one if it is taken
            self.name_edit.setText(name)
            self._name_edited = name != self._suggested
        self._apply()

    def model_ref(self) -> str:
        """The reference to save: existing local paths made absolute (the config may live elsewhere)."""
        ref = self.model_edit.text().strip()
        if ref and not ref.startswith(SAMPLE_PREFIX) and Path(ref).expanduser().exists():
            return str(Path(ref).expanduser().resolve())
        return ref

    def _apply(self) -> None:
        c = self._state.config
        if c["model"] and self.model_ref() != c["model"]:
            self._state.model_changed.emit()  # e.g. ULMFiT settings made for the previous model's depth
        c.update(model=self.model_ref(), task=self.task_box.currentData(), name=self.name_edit.text().strip(),
                 trust_remote_code=self.remote_code.isChecked())
        if c["task"] != "preference":
            c.pop("preference", None)  # only task preference reads that section
        error = self.error()
        self.status.setStyleSheet("")
        self.status.setText("" if error else self._describe())
        self.changed.emit()

    def _describe(self) -> str:
        src = resolve_model(self.model_ref())
        where = {"folder": "local folder", "gguf": "GGUF file (converted to safetensors once, on first use)",
                 "hub": "Hugging Face hub id (downloaded on first use)"}[src.kind]
        return f"{where}: {src.path}"

    def untouched(self) -> bool:
        """Nothing entered yet (the wizard shows its prompt without the error colour)."""
        return not self.model_ref()

    def error(self) -> str | None:
        """Why Next is disabled, naming the field; None when the step is complete."""
        ref = self.model_ref()
        if not ref:
            return "model: choose a model folder, a .gguf file, a hub id or a sample"
        try:
            resolve_model(ref)
        except ModelNotFound as e:
            return f"model: {e}"
        name = self.name_edit.text().strip()
        if not name:
            return "name: give the run a name"
        if not _NAME.fullmatch(name):
            return "name: use letters, digits, '-', '_' or '.' (it names the config file and the adapter)"
        return None

    def enter(self) -> None:
        """Shown again: re-check the model reference (the folder may have gone)."""
        self._taken_names = None  # runs may have been queued since
        self._apply()
