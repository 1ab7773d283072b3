"""Wizard step 2: the training data. Every change is checked (debounced) by `studio inspect-data` in a
child process: errors name file:line, examples show the trained tokens, a histogram shows lengths."""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QSplitter, QStackedWidget, QTextEdit, QVBoxLayout,
                               QWidget)

from studio.config import DataSpec, field_docs
from studio.core.formats import OPTIONAL, REQUIRED, TASK_FORMATS
from studio.resource_files import samples_dir
from studio.ui.pages.wizard.form import Form, specs_from_dataclass
from studio.ui.pages.wizard.sample_data import SampleDataRow
from studio.ui.widgets.live_plot import pg
from studio.ui.widgets.preference_preview import preference_html

DEBOUNCE_MS = 400
DATA_FILES = "Data files (*.jsonl *.json *.csv *.parquet *.txt);;All files (*)"
SAME_NAME = "(same name)"
TRAINED_STYLE = "background-color:#bfe8bf; color:#1a1a1a;"  # readable in dark themes too
ERROR_STYLE = "color:#c0392b;"
CHECKING = "checking the data…"


def example_html(example: dict[str, Any]) -> str:
    """One rendered example as HTML, the characters whose tokens carry loss highlighted."""
    if example.get("kind") == "preference":
        return preference_html(example)  # chosen and rejected side by side
    text, parts, at = example["text"], [], 0
    for start, end in example["trained"]:
        parts += [escape(text[at:start]), f'<span style="{TRAINED_STYLE}">{escape(text[start:end])}</span>']
        at = end
    parts.append(escape(text[at:]))
    label = f" · label <b>{escape(str(example['label']))}</b>" if example.get("label") is not None else ""
    return (f"<p><b>{escape(example['where'])}</b> · {example['tokens']} tokens{label}</p>"
            f'<pre style="white-space:pre-wrap">{"".join(parts)}</pre><hr>')


def mapped_columns(fmt: str) -> tuple[str, ...]:
    """The studio columns a format reads (required, then optional)."""
    return REQUIRED[fmt] + OPTIONAL.get(fmt, ())


class DataStep(QWidget):
    """Files, split, format and column mapping; preview, histogram and inline errors from inspect-data."""

    title = "Data"
    changed = Signal()

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        docs = field_docs(DataSpec)
        self.train_edit, train_row = self._file_row(docs["train"], "Training data")
        self.val_edit, val_row = self._file_row(docs["validation"], "Validation data")
        self.train_edit.setPlaceholderText("a .jsonl/.json/.csv/.parquet/.txt file, or a hub dataset id")
        self.val_edit.setPlaceholderText("optional")
        self.form = Form(specs_from_dataclass(DataSpec, ["val_fraction", "format", "max_length",
                                                         "train_on_prompt"]))
        # A new user has no data yet: the bundled files for the task, one click each (as the Model step's samples).
        self.samples = SampleDataRow()
        self.samples.picked.connect(self.train_edit.setText)
        files = QFormLayout()
        files.addRow("Training file", train_row)
        files.addRow("", self.samples)
        files.addRow("Validation file", val_row)
        self.columns_box = QGroupBox("Column mapping (studio column ← your column)")
        self.columns_box.setToolTip(docs["columns"])
        self.columns_form = QFormLayout(self.columns_box)
        self.column_combos: dict[str, QComboBox] = {}
        self._mapping_shape: tuple = ()
        self._file_columns: list[str] = []
        settings = QHBoxLayout()
        settings.addWidget(self.form, 1)
        settings.addWidget(self.columns_box, 1)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.examples = QTextEdit(readOnly=True)
        self.examples.setToolTip("The first training rows as the model sees them; highlighted characters "
                                 "are the tokens that carry loss")
        self.lengths_empty = QLabel("Token lengths of every row appear here once a training file is "
                                    "chosen and checked.")
        self.lengths_empty.setWordWrap(True)
        self.lengths_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lengths_empty.setEnabled(False)  # greyed: a hint, not content
        self.lengths_view = QStackedWidget()  # the hint until there are lengths, then the histogram
        self.lengths_view.addWidget(self.lengths_empty)
        # The histogram is built with the first lengths: a PlotWidget costs ~50 ms, and the wizard is
        # built while the window idles (a long build there is a stall the user feels).
        self.plot: Any = None
        self.bars: Any = None
        self.limit_line: Any = None
        self.lengths_note = QLabel()
        self.warnings = QPlainTextEdit(readOnly=True)
        self.warnings.setMaximumHeight(70)
        self.warnings.setToolTip("What training would warn about this data")
        self.warnings.hide()
        lengths = QWidget()
        lengths_column = QVBoxLayout(lengths)
        lengths_column.setContentsMargins(0, 0, 0, 0)
        lengths_column.addWidget(self.lengths_view, 1)
        lengths_column.addWidget(self.lengths_note)
        split = QSplitter()
        split.addWidget(self.examples)
        split.addWidget(lengths)
        split.setSizes([600, 400])  # the examples need the width more than the histogram
        layout = QVBoxLayout(self)
        layout.addLayout(files)
        layout.addLayout(settings)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.warnings)

        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._check)
        for edit in (self.train_edit, self.val_edit):
            edit.textChanged.connect(self._on_edit)
        self.form.changed.connect(self._on_edit)
        state.inspected.connect(self._show_result)
        self._show_result()

    def _file_row(self, tip: str, caption: str) -> tuple[QLineEdit, QHBoxLayout]:
        edit = QLineEdit()
        edit.setToolTip(tip)
        button = QPushButton("Browse…")
        button.setToolTip(f"Choose the {caption.lower()} file")
        button.clicked.connect(lambda: self._browse(edit, caption))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        return edit, row

    def _browse(self, edit: QLineEdit, caption: str) -> None:
        # An empty field opens the bundled samples (a new user has no data yet), not the window's cwd.
        start = str(Path(edit.text()).expanduser().parent) if edit.text().strip() else str(samples_dir())
        path, _ = QFileDialog.getOpenFileName(self, caption, start, DATA_FILES)
        if path:
            edit.setText(path)

    # --- settings -> config
    def data_section(self) -> dict[str, Any]:
        """The config's data section as entered (existing files made absolute)."""
        def path(text: str) -> str | None:
            text = text.strip()
            return str(Path(text).expanduser().resolve()) if text and Path(text).expanduser().exists() else text or None

        columns = {s: box.currentData() for s, box in self.column_combos.items() if box.currentData()}
        return {"train": path(self.train_edit.text()) or "", "validation": path(self.val_edit.text()),
                **self.form.values(), "columns": columns}

    def _on_edit(self, *_args: Any) -> None:
        self._state.config["data"] = self.data_section()
        self._timer.start()  # restarts: inspect once the user pauses typing
        self._state.forget_inspection()
        self._rebuild_mapping()
        self.changed.emit()

    def _check(self) -> None:
        if self.form.first_error() is None and self._state.config["data"]["train"]:
            self._state.start_inspect()

    def enter(self) -> None:
        """Shown: the model or task may have changed, so re-check unless this exact answer is known."""
        self.samples.set_task(self._state.config["task"])
        self._state.config["data"] = self.data_section()
        self._rebuild_mapping()
        self._check()
        self.changed.emit()

    # --- column mapping
    def _mapping_format(self) -> str | None:
        fmt = self._state.config["data"].get("format", "auto")
        if fmt != "auto":
            return fmt
        detected = (self._state.inspect or {}).get("format")
        formats = TASK_FORMATS[self._state.config["task"]]
        return detected or (formats[0] if len(formats) == 1 else None)

    def _rebuild_mapping(self) -> None:
        fmt = self._mapping_format()
        known = list(self._file_columns)
        chosen = {s: b.currentData() for s, b in self.column_combos.items() if b.currentData()}
        shape = (fmt, tuple(known))
        if shape == self._mapping_shape:
            return
        self._mapping_shape = shape
        while self.columns_form.rowCount():
            self.columns_form.removeRow(0)
        self.column_combos = {}
        if fmt is None:
            self.columns_form.addRow(QLabel("Choose a format to map columns by hand."))
            return
        for studio in mapped_columns(fmt):
            box = QComboBox()
            box.addItem(SAME_NAME, None)
            for col in dict.fromkeys(known + [chosen.get(studio)] if chosen.get(studio) else known):
                if col != studio:
                    box.addItem(col, col)
            box.setCurrentIndex(max(0, box.findData(chosen.get(studio))))
            optional = " (optional)" if studio in OPTIONAL.get(fmt, ()) else ""
            box.setToolTip(f"Which of your file's columns holds the {fmt} format's '{studio}'{optional}")
            box.activated.connect(self._on_edit)
            self.column_combos[studio] = box
            self.columns_form.addRow(f"{studio}{optional}", box)

    # --- inspect-data answer -> preview
    def _say(self, text: str, error: bool = False) -> None:
        # Errors quote file contents ("<|end|>"), so they are never parsed as rich text.
        self.status.setTextFormat(Qt.TextFormat.PlainText if error else Qt.TextFormat.RichText)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)

    def _show_result(self) -> None:
        s = self._state
        result = s.inspect or {}
        if result.get("columns"):
            self._file_columns = result["columns"]
        self._rebuild_mapping()  # the detected format decides which columns can be mapped
        if s.running("inspect") or self._timer.isActive():
            self._say("Checking the data with the model's tokenizer…")
        elif s.inspect_error:
            self._say(s.inspect_error, error=True)
        elif result.get("ok"):
            counts = result["counts"]
            names = escape(", ".join(result["label_names"] or []))
            self._say(f"Format <b>{result['format']}</b> · {counts['train']} training rows · "
                      f"{counts['validation']} validation rows" + (f" · labels: {names}" if names else ""))
        else:
            self._say("")
        self.examples.setHtml("".join(example_html(e) for e in result.get("examples") or []))
        self._show_lengths(result.get("lengths"))
        warnings = result.get("warnings") or []
        self.warnings.setPlainText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.changed.emit()

    def _build_histogram(self) -> None:
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "tokens per row")
        self.plot.setLabel("left", "rows")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setToolTip("Token lengths of all rows; rows right of the red line are truncated")
        # Token counts: no SI prefix ('tokens per row (x0.001)'), never below 0.
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.getViewBox().setLimits(xMin=0, yMin=0)
        self.limit_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#c0392b", width=2))
        self.plot.addItem(self.limit_line)
        self.lengths_view.addWidget(self.plot)

    def _show_lengths(self, lengths: dict[str, Any] | None) -> None:
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None
        if not lengths:
            self.lengths_note.setText("")
            self.lengths_view.setCurrentWidget(self.lengths_empty)
            return
        if self.plot is None:
            self._build_histogram()
        self.lengths_view.setCurrentWidget(self.plot)
        edges = lengths["bins"]
        self.bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=lengths["counts"], brush="#5b8def")
        self.plot.addItem(self.bars)
        self.limit_line.setValue(lengths["max_length"])
        self.plot.getViewBox().autoRange()  # the bars and the limit line, not the previous data's range
        self.lengths_note.setText(f"Longest row {lengths['longest']} tokens; {lengths['over']} of {lengths['rows']} "
                                  f"rows are over max_length {lengths['max_length']} (red line) and get truncated")

    def checking(self) -> bool:
        """True while the data is being checked (the wizard shows that as progress, not in red)."""
        return self.error() == CHECKING

    def error(self) -> str | None:
        """Why Next is disabled (field or file:line); None once inspect-data accepted the data."""
        problem = self.form.first_error("data.")
        if problem:
            return problem
        if not self._state.config["data"].get("train"):
            return "data.train: choose a training file (or type a hub dataset id)"
        if self._state.running("inspect") or self._timer.isActive():
            return CHECKING
        if self._state.inspect_error:
            return self._state.inspect_error
        if not (self._state.inspect or {}).get("ok"):
            return CHECKING
        return None
