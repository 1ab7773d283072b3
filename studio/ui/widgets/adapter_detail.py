"""One library adapter in detail: its studio.json facts, settings and metrics, its exports with their
verification state, editable notes and tags (saved when the editor loses focus, on Enter or with
Save), and its folder."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFocusEvent
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from studio.library import library
from studio.store.exports import list_exports
from studio.ui.progress import format_bytes, format_count
from studio.ui.widgets.adapter_table import created_text, metrics_text

NO_SELECTION = "Select an adapter to see its details; select several to compare or merge them."
FACTS = ("Method", "Task", "Base model", "Settings", "Trainable params", "Size on disk", "Dataset",
         "Final metrics", "Training", "Source", "Created", "Exports")
MISSING = "The adapter's folder is missing: it was moved or deleted outside the studio."


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The folder's studio.json, or {} when it has none (a plain PEFT adapter) or it is unreadable."""
    try:
        data = json.loads((Path(folder) / "studio.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def training_text(meta: dict[str, Any]) -> str:
    """'lr 0.0002 · 300 steps · batch 8' from studio.json's training config; the merge recipe for merges."""
    if meta.get("merged_from"):
        parts = [f"{m.get('adapter')} × {m.get('weight'):g}" for m in meta["merged_from"]]
        density = f", density {meta['density']:g}" if meta.get("density") else ""
        return f"{meta.get('combination')} of {', '.join(parts)}{density}"
    training = (meta.get("training") or {}).get("training") or {}
    parts = []
    if training.get("learning_rate") is not None:
        parts.append(f"lr {training['learning_rate']:g}")
    steps = meta.get("steps") or training.get("max_steps")
    if steps:
        parts.append(f"{steps} steps")
    if training.get("batch_size"):
        parts.append(f"batch {training['batch_size']}")
    if training.get("schedule"):
        parts.append(str(training["schedule"]))
    return " · ".join(parts)


def exports_html(rows: list[dict[str, Any]]) -> str:
    """The adapter's exports, newest first: format, where, and verified (with agreement) or why not."""
    lines = []
    for e in rows:
        what = {"gguf": "GGUF", "merged": "merged", "adapter-only": "adapter only"}.get(e["format"], e["format"])
        what += f" {e['quant']}" if e.get("quant") else ""
        if e.get("verified"):
            agree = f", {e['agreement']:.0%} agreement" if e.get("agreement") is not None else ""
            state = f'<span style="color:#3c963c">✓ verified{agree}</span>'
        else:
            state = f'<span style="color:#d9534f">✗ unverified: {escape(e.get("reason") or "not checked")}</span>'
        lines.append(f"<b>{escape(what)}</b> → {escape(e['path'])}<br>{state}")
    return "<br>".join(lines)


def source_text(row: dict[str, Any], meta: dict[str, Any]) -> str:
    """Where the adapter came from: its run, the imported folder, or a merge."""
    if row.get("run_id") is not None:
        return f"trained in run {row['run_id']}"
    if meta.get("imported_from"):
        return f"imported from {meta['imported_from']}"
    return str(row.get("source") or meta.get("source") or "")


class _NotesEdit(QPlainTextEdit):
    """A notes box that says when it loses focus (the moment its text is saved)."""

    focus_lost = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.focus_lost.emit()


class AdapterDetail(QWidget):
    """Facts of one adapter; `changed(name)` after its notes or tags were saved to the store."""

    changed = Signal(str)
    message = Signal(str)

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.row: dict[str, Any] | None = None
        self.title = QLabel(NO_SELECTION)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.missing = QLabel(MISSING)
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color: #d9534f; font-weight: bold;")
        self.missing.hide()
        self.facts: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in FACTS:
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[name] = label
            form.addRow(name + ":", label)

        self.tags = QLineEdit()
        self.tags.setPlaceholderText("e.g. pirate, v2, best")
        self.tags.setToolTip("Tags, separated by commas; saved when you press Enter or leave the box. "
                             "The search box finds adapters by tag.")
        self.tags.editingFinished.connect(self.commit)
        form.addRow("Tags:", self.tags)
        self.notes = _NotesEdit()
        self.notes.setPlaceholderText("Notes: what this adapter is for, how it did…")
        self.notes.setToolTip("Free-text notes; saved when you leave the box or press Save notes")
        self.notes.setMaximumHeight(110)
        self.notes.focus_lost.connect(self.commit)
        self.save_button = QPushButton("Save notes")
        self.save_button.setToolTip("Save the notes and tags now")
        self.save_button.clicked.connect(self.commit)

        self.path = QLabel()
        self.path.setWordWrap(True)
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the adapter's files in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(self.open_button)

        self.body = QWidget()  # hidden while no single adapter is selected
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(form)
        body.addWidget(QLabel("Notes:"))
        body.addWidget(self.notes)
        body.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        body.addLayout(where)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.missing)
        layout.addWidget(self.body)
        layout.addStretch(1)
        self.show_row(None)

    def show_row(self, row: dict[str, Any] | None) -> None:
        """Show one library row (library.find's dict), or the empty state for None."""
        if self.row is not None:
            self.commit()  # unsaved edits of the adapter on show (before a refresh or another row)
        self.row = row
        self.body.setVisible(row is not None)
        if row is None:
            self.title.setText(NO_SELECTION)
            self.missing.hide()
            for label in self.facts.values():
                label.clear()
            self.tags.clear()
            self.notes.clear()
            self.path.clear()
            return
        meta = {} if row.get("missing") else read_meta(row["path"])
        self.title.setText(f"<h3>{escape(row['name'])}</h3>")
        self.missing.setVisible(bool(row.get("missing")))
        total = row.get("total_params") or meta.get("total_params")
        trainable = format_count(row.get("trainable_params"))
        if total and row.get("trainable_params"):
            trainable += f"  ({100 * row['trainable_params'] / total:.3g}% of {format_count(total)})"
        values = {"Method": row.get("method") or "", "Task": row.get("task") or "",
                  "Base model": row.get("base_model") or "", "Settings": row.get("settings_text") or "",
                  "Trainable params": trainable, "Size on disk": format_bytes(row.get("size_bytes")),
                  "Dataset": row.get("dataset") or "", "Final metrics": metrics_text(row.get("metrics") or {}),
                  "Training": training_text(meta), "Source": source_text(row, meta),
                  "Created": created_text(row), "Exports": exports_html(list_exports(self._db, row["name"]))}
        for name, label in self.facts.items():
            label.setText(values[name] or "—")
        self.tags.setText(", ".join(row.get("tags") or []))
        self.notes.setPlainText(row.get("notes") or "")
        self.path.setText(row["path"])
        self.open_button.setEnabled(not row.get("missing"))

    def commit(self) -> None:
        """Save the notes and tags of the adapter on show, if they changed."""
        row = self.row
        if row is None:
            return
        notes = self.notes.toPlainText().strip()
        tags = list(dict.fromkeys(t.strip() for t in self.tags.text().split(",") if t.strip()))
        saved = []
        try:
            if notes != (row.get("notes") or ""):
                library.set_notes(self._db, row["name"], notes)
                row["notes"], saved = notes or None, saved + ["notes"]
            if tags != list(row.get("tags") or []):
                library.set_tags(self._db, row["name"], tags)
                row["tags"], saved = tags, saved + ["tags"]
        except LookupError:
            self.message.emit(f"{row['name']} is no longer in the library (refresh with F5)")
            return
        if saved:
            self.message.emit(f"Saved the {' and '.join(saved)} of {row['name']}")
            self.changed.emit(row["name"])

    def open_folder(self) -> None:
        """Open the adapter's folder in the desktop's file manager."""
        if self.row is None:
            return
        if not Path(self.row["path"]).is_dir():
            self.message.emit(f"The adapter folder is missing: {self.row['path']}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.row["path"]))
