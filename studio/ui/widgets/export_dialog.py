"""Export one library adapter: merged into its base (dtype bf16/fp16/fp32), the adapter alone, or GGUF
for llama.cpp / Ollama (quantisation with an estimated size), by `studio export --json` in a child
process with a progress bar through merge → convert → quantise → verify, then the verification result.
Methods that cannot be merged say why."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from studio.library.gguf_types import DESCRIPTIONS, QUANTS, estimate_size
from studio.library.inspect import MERGEABLE, merge_refusal
from studio.paths import Home
from studio.ui.widgets.adapter_progress import CliProgress
from studio.ui.widgets.error_dialog import show_error

DTYPES = ("bf16", "fp16", "fp32")
def mergeable(method: str | None) -> bool:
    """Whether an adapter of this method can be exported merged into its base."""
    return method in MERGEABLE


def why_not_mergeable(method: str | None) -> str:
    """Why a method cannot be merged, and what to do instead."""
    return (f"A {method} adapter cannot be merged into its base: {merge_refusal(method)}. Export the adapter alone "
            "instead; it loads on top of the base model.")


def export_args(name: str, out: str, merged: bool, dtype: str = "bf16", gguf: str | None = None) -> list[str]:
    """The `studio export` arguments for one export (GGUF when `gguf` names the quantisation)."""
    if gguf:
        return ["export", name, "--gguf", out, "--quant", gguf, "--json"]
    if merged:
        return ["export", name, "--merged", out, "--dtype", dtype, "--json"]
    return ["export", name, "--adapter-only", out, "--json"]


def size_text(params: int | None, quant: str) -> str:
    """'≈ 145 MB' for a model of `params` weights at `quant` ('' when the size is unknown)."""
    if not params:
        return ""
    size = estimate_size(int(params), quant)
    return f"≈ {size / 1e9:.2f} GB" if size >= 1e9 else f"≈ {size / 1e6:.0f} MB"


def verification_text(record: dict[str, Any] | None) -> str:
    """One line for the result: verified with its figures, or unverified with the reason."""
    if not record:
        return "Not verified."
    figures = []
    if record.get("agreement") is not None:
        figures.append(f"{'label' if record.get('labels') else 'token'} agreement {record['agreement']:.1%}")
    if record.get("max_logit_diff") is not None:
        figures.append(f"max logit difference {record['max_logit_diff']:.3g}")
    detail = f" ({', '.join(figures)})" if figures else ""
    if record.get("verified"):
        return f"Verified: reloaded and compared with the adapter{detail}."
    return f"Unverified: {record.get('reason') or 'not checked'}{detail}."


class ExportDialog(QDialog):
    """Choose merged/adapter-only, the dtype and a new output folder; runs the export; `exported(result)`."""

    exported = Signal(object)

    def __init__(self, home: Home, row: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self.row = home, row
        self.result: dict[str, Any] | None = None
        name, method = row["name"], row.get("method")
        self.can_merge = mergeable(method)
        self.can_gguf = self.can_merge and row.get("task") != "classification"
        self.setWindowTitle(f"Export {name}")
        self.explain = QLabel("Merged: the adapter folded into a copy of its base, saved as a plain transformers "
                              "model that loads without the studio or PEFT. Adapter only: the adapter's own files."
                              + (" GGUF: merged, converted and quantised for llama.cpp and Ollama."
                                 if self.can_gguf else "")
                              if self.can_merge else why_not_mergeable(method))
        self.explain.setWordWrap(True)
        self.merged = QRadioButton("Merged model")
        self.merged.setToolTip("Fold the adapter into its base weights and save the whole model"
                               if self.can_merge else why_not_mergeable(method))
        self.merged.setEnabled(self.can_merge)
        self.adapter_only = QRadioButton("Adapter only")
        self.adapter_only.setToolTip("Copy the adapter's files (any method) with a model card and a checksum "
                                     "manifest; load it on top of the base")
        self.gguf = QRadioButton("GGUF (llama.cpp, Ollama)")
        self.gguf.setToolTip("Merge, convert with llama.cpp's converter and quantise; an Ollama Modelfile is "
                             "written beside it" if self.can_gguf else
                             "GGUF needs a mergeable text generator" if self.can_merge else why_not_mergeable(method))
        self.gguf.setEnabled(self.can_gguf)
        group = QButtonGroup(self)
        group.addButton(self.merged)
        group.addButton(self.adapter_only)
        group.addButton(self.gguf)
        self.quant = QComboBox()
        for q in QUANTS:
            self.quant.addItem(q, q)
            self.quant.setItemData(self.quant.count() - 1, DESCRIPTIONS[q], Qt.ItemDataRole.ToolTipRole)
        self.quant.setCurrentText("q8_0")
        self.quant.setToolTip("GGUF type. K-quants (q4_k_m …) need llama.cpp's llama-quantize binary, which no "
                              "PyPI package ships: export f16 and quantise with llama.cpp")
        self.size = QLabel()
        self.size.setToolTip("Estimated from the parameter count and the type's bits per weight")
        (self.merged if self.can_merge else self.adapter_only).setChecked(True)
        self.dtype = QComboBox()
        self.dtype.addItems(DTYPES)
        self.dtype.setToolTip("Precision of the merged weights: bf16 (half the size of fp32, the usual choice), "
                              "fp16 (for GPUs without bf16) or fp32 (full precision, twice the size)")
        self._default_out = self.default_out()
        self.out = QLineEdit(self._default_out)
        self.out.setToolTip("A new (or empty) folder, or a new .gguf file; the export arrives in one rename "
                            "when complete and never overwrites")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the output folder")
        browse.clicked.connect(self.browse)
        where = QHBoxLayout()
        where.addWidget(self.out, 1)
        where.addWidget(browse)
        form = QFormLayout()
        kinds = QHBoxLayout()
        kinds.addWidget(self.merged)
        kinds.addWidget(self.adapter_only)
        kinds.addWidget(self.gguf)
        kinds.addStretch(1)
        quant = QHBoxLayout()
        quant.addWidget(self.quant)
        quant.addWidget(self.size, 1)
        form.addRow("Export:", kinds)
        form.addRow("Dtype:", self.dtype)
        form.addRow("Quantisation:", quant)
        form.addRow("Output:", where)
        self.merged.toggled.connect(self._update)
        self.gguf.toggled.connect(self._update)
        self.quant.currentIndexChanged.connect(self._update)

        self.progress = CliProgress(home)
        self.progress.done.connect(self._done)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setToolTip("Start the export (a separate process; the window stays responsive)")
        self.open_button = self.buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setToolTip("Show the exported files")
        self.open_button.hide()
        self.export_button.clicked.connect(self.start)
        self.open_button.clicked.connect(self.open_output)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        self._update()

    def default_out(self) -> str:
        """The suggested output: exports/NAME-merged, NAME-adapter or NAME-QUANT.gguf."""
        name = self.row["name"]
        if self.gguf.isChecked():
            return str(self._home.root / "exports" / f"{name}-{self.quant.currentText()}.gguf")
        return str(self._home.root / "exports" / f"{name}-{'merged' if self.merged.isChecked() else 'adapter'}")

    def _update(self) -> None:
        self.dtype.setEnabled(self.merged.isChecked())
        self.quant.setEnabled(self.gguf.isChecked())
        self.size.setText(size_text(self.row.get("total_params"), self.quant.currentText())
                          if self.gguf.isChecked() else "")
        if self.out.text() == self._default_out:  # follow the choice until the user types a path
            self._default_out = self.default_out()
            self.out.setText(self._default_out)

    def browse(self) -> None:
        """Pick the output folder (or the .gguf file)."""
        if self.gguf.isChecked():
            folder, _ = QFileDialog.getSaveFileName(self, "Export GGUF to", self.out.text(), "GGUF (*.gguf)")
        else:
            folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(Path(self.out.text()).parent))
        if folder:
            self.out.setText(folder)

    def command(self) -> list[str]:
        """The `studio export` arguments for the choices made."""
        return export_args(self.row["name"], str(Path(self.out.text().strip()).expanduser()),
                           self.merged.isChecked(), self.dtype.currentText(),
                           self.quant.currentText() if self.gguf.isChecked() else None)

    def start(self) -> None:
        """Run the export in a child process."""
        out = self.out.text().strip()
        if not out:
            self.status.setText("Choose an output folder.")
            return
        target = Path(out).expanduser()
        if self.gguf.isChecked():
            if target.suffix.lower() != ".gguf":
                self.status.setText("A GGUF export is a file: give a name ending in .gguf.")
                return
            taken = [p for p in (target, target.with_suffix(".Modelfile")) if p.exists()]
            if taken:
                self.status.setText(f"{taken[0]} already exists; choose a new file name.")
                return
        elif target.exists() and (not target.is_dir() or any(target.iterdir())):
            self.status.setText(f"{target} already exists and is not empty; choose a new folder.")
            return
        self.export_button.setEnabled(False)
        self.open_button.hide()
        self.status.setText("Exporting… (the model loads in a separate process)")
        self.progress.start(self.command())
        self._fit()

    def _fit(self) -> None:
        """Grow to show the progress and result lines: with a minimum width set, Qt squeezes the rows instead."""
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _done(self, result: Any, error: Any) -> None:
        self.export_button.setEnabled(True)
        if error is not None:
            self.status.setText(f"Export failed: {error}")
            show_error(self, "Export failed", f"Exporting {self.row['name']} failed: {error}")
            return
        self.result = result
        files = result.get("files") or []
        record = result.get("verification")
        extra = "with an Ollama Modelfile" if result.get("format") == "gguf" else "with README.md and MANIFEST.sha256"
        self.verified = bool(record and record.get("verified"))
        self.status.setText(f"Exported to {result.get('path')} ({len(files)} files, {extra}).\n"
                            + verification_text(record)
                            + "".join(f"\n{w}" for w in (record or {}).get("warnings") or []))
        self.status.setProperty("unverified", not self.verified)
        self.open_button.show()
        self._fit()
        self.exported.emit(result)

    def open_output(self) -> None:
        """Open the exported folder."""
        if self.result:
            path = Path(self.result["path"])
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent if path.is_file() else path)))

    def reject(self) -> None:
        """Close; a running export is killed (it leaves nothing behind: exports arrive atomically)."""
        self.progress.cancel()
        super().reject()
