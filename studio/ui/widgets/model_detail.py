"""The model browser's detail pane: one model's config facts and, per method, the training memory
estimate for a batch size, sequence length and precision (a pure function: recomputed at once)."""
from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from studio.modelinfo.memory import estimate_all, format_memory, task_of
from studio.modelinfo.scan import ModelEntry
from studio.ui.progress import format_bytes, format_count

FACTS = ("Architecture", "Model type", "Parameters", "Stored as", "Quantization", "Layers", "Hidden size",
         "FFN size", "Attention heads", "Vocabulary", "Max positions", "Tied embeddings", "Size on disk",
         "Location")
MEMORY_COLUMNS = ("Method", "Trainable", "% of model", "Weights", "Trainable state", "Activations",
                  "Overhead", "Total")
PRECISIONS = ("bf16", "fp16", "fp32")
DEVICES = ("cuda", "cpu")
CHECKPOINTING = ("off", "on")
NO_MODEL = "Select a model to see its facts and what training it takes."
WAITING = "Reading the methods' default options…"


def fact_values(entry: ModelEntry) -> dict[str, str]:
    """The facts pane's text per row."""
    f = entry.facts
    heads = "" if f.heads is None else f"{f.heads}" + (f" ({f.kv_heads} key/value)" if f.kv_heads != f.heads else "")
    return {
        "Architecture": f.architecture or "", "Model type": f.model_type or "",
        "Parameters": f"{f.params:,} ({format_count(f.params)})" if f.params else "unknown",
        "Stored as": ", ".join(f"{t} {format_count(n)}" for t, n in f.dtypes.items()),
        "Quantization": f.quantization or "none", "Layers": str(f.layers or ""),
        "Hidden size": str(f.hidden_size or ""), "FFN size": str(f.intermediate_size or ""),
        "Attention heads": heads + (f", head dim {f.head_dim}" if f.head_dim else ""),
        "Vocabulary": str(f.vocab_size or ""), "Max positions": str(f.max_positions or ""),
        "Tied embeddings": tied_text(f.tie_word_embeddings, f.lm_head),
        "Size on disk": format_bytes(f.size_bytes) if f.size_bytes is not None else "",
        "Location": entry.path or entry.ref,
    }


def tied_text(tied: bool | None, lm_head: bool | None) -> str:
    """'yes', 'no', 'no (no LM head)' for an encoder without one, or 'unknown' when nothing says."""
    if lm_head is False:
        return "no (no LM head)"
    return {True: "yes", False: "no", None: "unknown (not in config.json)"}[tied]


class ModelDetail(QWidget):
    """Facts, the per-method memory table with its inputs, the assumptions, and 'Use for a new run'."""

    use_model = Signal(str)  # the selected model's ref

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entry: ModelEntry | None = None
        self._defaults: dict[str, dict[str, Any]] | None = None
        self._defaults_error: str | None = None
        self.title = QLabel(NO_MODEL)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("Use for a new run")
        self.use_button.setToolTip("Start the new-run wizard with this model")
        self.use_button.clicked.connect(self._use)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.use_button)

        facts_box = QGroupBox("Config facts")
        form = QFormLayout(facts_box)
        self.fact_labels: dict[str, QLabel] = {}
        for name in FACTS:
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)  # paths and names are shown as they are
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.fact_labels[name] = label
            form.addRow(name, label)
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828;")
        form.addRow(self.problem)

        self.batch = self._spin(1, 4096, 8, "Examples per micro-batch on one device (training.batch_size)")
        self.seq_len = self._spin(8, 1_048_576, 512, "Tokens per example (the data's max_length)")
        self.seq_len.setSingleStep(64)
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip("Training precision: bf16/fp16 hold frozen weights and activations in "
                                  "2 bytes, fp32 in 4 (trainable weights keep an fp32 copy either way)")
        self.task = QComboBox()
        self.task.addItems(["causal-lm", "classification"])
        self.task.setToolTip("causal-lm: the model's LM head and logits; classification: a new head of "
                             "'Labels' outputs replaces it")
        self.labels = self._spin(2, 100_000, 2, "Classes of the classification head")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setToolTip("cuda adds the CUDA context, kernels workspace and allocator slack")
        self.checkpointing = QComboBox()
        self.checkpointing.addItems(CHECKPOINTING)
        self.checkpointing.setToolTip("Activation checkpointing (training.activation_checkpointing): each "
                                      "block keeps only its input and is recomputed in the backward pass")
        for signal in (self.batch.valueChanged, self.seq_len.valueChanged, self.labels.valueChanged,
                       self.precision.currentTextChanged, self.task.currentTextChanged,
                       self.device.currentTextChanged, self.checkpointing.currentTextChanged):
            signal.connect(self.recompute)
        inputs = QVBoxLayout()  # two rows, so the pane stays narrow enough beside the facts
        for pairs in ((("Batch", self.batch), ("Sequence", self.seq_len), ("Precision", self.precision),
                       ("Device", self.device)),
                      (("Task", self.task), ("Labels", self.labels), ("Checkpointing", self.checkpointing))):
            line = QHBoxLayout()
            for text, widget in pairs:
                line.addWidget(QLabel(text))
                line.addWidget(widget)
            line.addStretch(1)
            inputs.addLayout(line)

        self.memory = QTableWidget(0, len(MEMORY_COLUMNS))
        self.memory.setHorizontalHeaderLabels(MEMORY_COLUMNS)
        self.memory.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.memory.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.memory.verticalHeader().hide()
        self.memory.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.assumptions = QLabel()
        self.assumptions.setWordWrap(True)
        self.assumptions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        memory_box = QGroupBox("Training memory estimate per method")
        mem_layout = QVBoxLayout(memory_box)
        mem_layout.addLayout(inputs)
        mem_layout.addWidget(self.memory, 1)
        mem_layout.addWidget(self.assumptions)

        body = QHBoxLayout()
        body.addWidget(facts_box)
        body.addWidget(memory_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.set_entry(None)

    def _spin(self, low: int, high: int, value: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setGroupSeparatorShown(True)
        return spin

    @property
    def entry(self) -> ModelEntry | None:
        """The model on show."""
        return self._entry

    def set_entry(self, entry: ModelEntry | None) -> None:
        """Show a model (None: nothing selected)."""
        self._entry = entry
        values = fact_values(entry) if entry else {}
        for name, label in self.fact_labels.items():
            label.setText(values.get(name, ""))
        if entry is None:
            self.title.setText(NO_MODEL)
        else:
            self.title.setText(f"<b>{escape(entry.name)}</b><br><small>model: {escape(entry.ref)}</small>")
        problem = entry.facts.problem if entry else None
        notes = " · ".join(entry.facts.notes) if entry else ""
        self.problem.setText(problem or notes)
        self.problem.setStyleSheet("color: #c62828;" if problem else "color: palette(mid);")
        self.use_button.setEnabled(entry is not None and not (problem and not entry.facts.params))
        if entry is not None and entry.facts.params:
            self.task.blockSignals(True)  # one recompute below, not two
            self.task.setCurrentText(task_of(entry.facts))
            self.task.blockSignals(False)
        self.recompute()

    def set_defaults(self, defaults: dict[str, dict[str, Any]] | None, error: str | None = None) -> None:
        """The methods' default options (method → {option: value}), or why they could not be read."""
        self._defaults, self._defaults_error = defaults, error
        self.recompute()

    def recompute(self) -> None:
        """Re-estimate every method for the current inputs (a pure function of the facts)."""
        self.labels.setEnabled(self.task.currentText() == "classification")
        self.memory.setRowCount(0)
        entry = self._entry
        if entry is None or entry.source == "hub" or not entry.facts.params:
            self.assumptions.setText("" if entry is None else
                                     "Memory estimates need the model's weights on this machine "
                                     "(safetensors or GGUF headers).")
            return
        if self._defaults is None:
            self.assumptions.setText(self._defaults_error or WAITING)
            return
        rows = estimate_all(entry.facts, self._defaults, self.batch.value(), self.seq_len.value(),
                            self.precision.currentText(), self.task.currentText(), self.labels.value(),
                            device=self.device.currentText(),
                            checkpoint_every=1 if self.checkpointing.currentText() == "on" else None)
        self.memory.setRowCount(len(rows))
        for r, est in enumerate(rows):
            self._fill_row(r, est)
        lists = [e["assumptions"] for e in rows if not e["problem"]]
        common = [a for a in lists[0] if all(a in other for other in lists)] if lists else []
        self.assumptions.setText(self._length_warning() + (
            "<small>Assumes: " + "; ".join(escape(a) for a in common) + ". Trainable parameters follow "
            "each method's formula with its default options (hover a count for the formula, a total for "
            "that method's assumptions).</small>" if common else ""))

    def _length_warning(self) -> str:
        """A sequence beyond the model's positions is an estimate of a run that cannot happen: say so."""
        limit = self._entry.facts.max_positions if self._entry else None
        if not limit or self.seq_len.value() <= limit:
            return ""
        return (f"<span style='color:#b26a00;'>Sequence {self.seq_len.value():,} is longer than this model's "
                f"{limit:,} positions; keep max_length at or below {limit:,}.</span><br>")

    def _fill_row(self, r: int, est: dict[str, Any]) -> None:
        self.memory.setItem(r, 0, QTableWidgetItem(est["method"]))
        if est["problem"]:
            item = QTableWidgetItem(est["problem"])
            item.setToolTip(est["problem"])
            item.setForeground(Qt.GlobalColor.darkGray)
            self.memory.setItem(r, 1, item)
            self.memory.setSpan(r, 1, 1, len(MEMORY_COLUMNS) - 1)
            return
        cells = (f"{est['trainable_params']:,}", f"{est['trainable_percent']:.3g} %",
                 *(format_memory(est[k]) for k in ("weights_bytes", "trainable_state_bytes", "activation_bytes",
                                                   "overhead_bytes", "total_bytes")))
        for c, text in enumerate(cells, start=1):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(est["formula"] if c == 1 else
                            "\n".join(est["assumptions"]) if c == len(cells) else text)
            self.memory.setItem(r, c, item)

    def _use(self) -> None:
        if self._entry is not None:
            self.use_model.emit(self._entry.ref)
