"""Export one library adapter: merged into its base (dtype bf16/fp16/fp32) or the adapter alone, by
`studio export --json` in a child process with a progress bar. Methods that cannot be merged say why."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QVBoxLayout, QWidget)

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


def export_args(name: str, out: str, merged: bool, dtype: str = "bf16") -> list[str]:
    """The `studio export` arguments for one export."""
    if merged:
        return ["export", name, "--merged", out, "--dtype", dtype, "--json"]
    return ["export", name, "--adapter-only", out, "--json"]


class ExportDialog(QDialog):
    """Choose merged/adapter-only, the dtype and a new output folder; runs the export; `exported(result)`."""

    exported = Signal(object)

    def __init__(self, home: Home, row: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self.row = home, row
        self.result: dict[str, Any] | None = None
        name, method = row["name"], row.get("method")
        self.can_merge = mergeable(method)
        self.setWindowTitle(f"Export {name}")
        self.explain = QLabel("Merged: the adapter folded into a copy of its base, saved as a plain transformers "
                              "model that loads without the studio or PEFT. Adapter only: the adapter's own files."
                              if self.can_merge else why_not_mergeable(method))
        self.explain.setWordWrap(True)
        self.merged = QRadioButton("Merged model")
        self.merged.setToolTip("Fold the adapter into its base weights and save the whole model"
                               if self.can_merge else why_not_mergeable(method))
        self.merged.setEnabled(self.can_merge)
        self.adapter_only = QRadioButton("Adapter only")
        self.adapter_only.setToolTip("Copy the adapter's files (any method) with a model card and a checksum "
                                     "manifest; load it on top of the base")
        group = QButtonGroup(self)
        group.addButton(self.merged)
        group.addButton(self.adapter_only)
        (self.merged if self.can_merge else self.adapter_only).setChecked(True)
        self.dtype = QComboBox()
        self.dtype.addItems(DTYPES)
        self.dtype.setToolTip("Precision of the merged weights: bf16 (half the size of fp32, the usual choice), "
                              "fp16 (for GPUs without bf16) or fp32 (full precision, twice the size)")
        self.out = QLineEdit(str(home.root / "exports" / f"{name}-{'merged' if self.can_merge else 'adapter'}"))
        self.out.setToolTip("A new (or empty) folder; the export arrives there in one rename when complete")
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
        kinds.addStretch(1)
        form.addRow("Export:", kinds)
        form.addRow("Dtype:", self.dtype)
        form.addRow("Output folder:", where)
        self.merged.toggled.connect(self._update)

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

    def _update(self) -> None:
        self.dtype.setEnabled(self.merged.isChecked())

    def browse(self) -> None:
        """Pick the output folder."""
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(Path(self.out.text()).parent))
        if folder:
            self.out.setText(folder)

    def command(self) -> list[str]:
        """The `studio export` arguments for the choices made."""
        return export_args(self.row["name"], str(Path(self.out.text().strip()).expanduser()),
                           self.merged.isChecked(), self.dtype.currentText())

    def start(self) -> None:
        """Run the export in a child process."""
        out = self.out.text().strip()
        if not out:
            self.status.setText("Choose an output folder.")
            return
        target = Path(out).expanduser()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            self.status.setText(f"{target} already exists and is not empty; choose a new folder.")
            return
        self.export_button.setEnabled(False)
        self.open_button.hide()
        self.status.setText("Exporting… (the model loads in a separate process)")
        self.progress.start(self.command())

    def _done(self, result: Any, error: Any) -> None:
        self.export_button.setEnabled(True)
        if error is not None:
            self.status.setText(f"Export failed: {error}")
            show_error(self, "Export failed", f"Exporting {self.row['name']} failed: {error}")
            return
        self.result = result
        files = result.get("files") or []
        self.status.setText(f"Exported to {result.get('path')} ({len(files)} files, with README.md and "
                            "MANIFEST.sha256)")
        self.open_button.show()
        self.exported.emit(result)

    def open_output(self) -> None:
        """Open the exported folder."""
        if self.result:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.result["path"]))

    def reject(self) -> None:
        """Close; a running export is killed (it leaves nothing behind: exports arrive atomically)."""
        self.progress.cancel()
        super().reject()
