"""Wizard step 5: the config as YAML, the equivalent `studio train` command, the memory estimate and
a Measure button (memory_panel.py); Start saves the config under <home>/configs/ and queues the run
through `studio train --detach`."""
from __future__ import annotations

import copy
import shlex
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from studio.config import ConfigError, RunConfig, dump_config
from studio.ui import cli_call
from studio.ui.pages.wizard.distributed_panel import distributed_text
from studio.ui.pages.wizard.memory_panel import MemoryPanel
from studio.ui.pages.wizard.state import unique_name

TRAIN_TIMEOUT_S = 600.0  # `studio train` validates the data and probes the method before queueing
ERROR_STYLE = "color:#c0392b;"


class ReviewStep(QWidget):
    """YAML, copyable command, memory estimate and Start; emits run_started(run_id) once queued."""

    title = "Review"
    changed = Signal()
    run_started = Signal(int)
    message = Signal(str)

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._call: Any = None
        self._renamed_from: str | None = None  # the taken name Start replaced, for the queued message
        self.yaml_view = QPlainTextEdit(readOnly=True)
        self.yaml_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.yaml_view.setToolTip("The run's config file, exactly as it will be saved")
        self.command = QLineEdit(readOnly=True)
        self.command.setToolTip("The same run from a terminal")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the command to the clipboard")
        self.copy_button.clicked.connect(self.copy_command)
        row = QHBoxLayout()
        row.addWidget(self.command, 1)
        row.addWidget(self.copy_button)
        self.processes = QLabel()  # training.distributed in words, with the effective batch
        self.processes.setToolTip("Processes training the run (one per GPU) and the examples per optimizer step")
        self.memory = MemoryPanel(state)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Save the config and queue the run; the Runs page shows it training")
        self.start_button.clicked.connect(self.start)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.yaml_view, 1)
        layout.addLayout(row)
        layout.addWidget(self.processes)
        layout.addWidget(self.memory)
        layout.addLayout(bottom)
        state.gpus_found.connect(self._show_processes)  # auto's count is known once the GPUs are

    def config_path(self) -> Path:
        """Where Start saves the config: <home>/configs/<name>.yaml."""
        return self._state.home.root / "configs" / f"{self._state.config.get('name') or 'run'}.yaml"

    def run_config(self) -> RunConfig:
        """The wizard's config, validated (ConfigError names the key path)."""
        return RunConfig.from_dict(copy.deepcopy(self._state.config))

    def enter(self) -> None:
        """Shown: render the YAML, the command and the memory estimate from the current state."""
        try:
            cfg = self.run_config()
        except ConfigError as e:
            self.yaml_view.setPlainText("")
            self._say(str(e), error=True)
        else:
            preview = self._state.write_temp(cfg.to_dict(), "review")  # the very text dump_config writes
            self.yaml_view.setPlainText(preview.read_text(encoding="utf-8"))
            self._say("")
            self._show_processes(cfg)
            self.memory.refresh(cfg, self.yaml_view.toPlainText())
        self.command.setText(f"studio train {shlex.quote(str(self.config_path()))}")
        self.changed.emit()

    def _show_processes(self, cfg: RunConfig | None = None) -> None:
        """'Training: 2 processes (DDP) · effective batch 8 × 1 × 2 = 16 …' for the config."""
        try:
            cfg = cfg or self.run_config()
        except ConfigError:
            self.processes.setText("")
            return
        spread, t = cfg.training.distributed, cfg.training
        self.processes.setText("Training: " + distributed_text(
            {"processes": spread.processes, "strategy": spread.strategy}, t.batch_size, t.gradient_accumulation,
            len(self._state.gpus or [])))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)

    def copy_command(self) -> None:
        """Put the `studio train` command on the clipboard."""
        QGuiApplication.clipboard().setText(self.command.text())
        self.message.emit("Command copied")

    def clear(self) -> None:
        """A fresh wizard: no YAML, no outcome of an earlier Start."""
        self.yaml_view.setPlainText("")
        self.command.setText("")
        self.processes.setText("")
        self._say("")

    def confirm_rename(self, taken: str, free: str) -> bool:
        """Ask to start under a free name when the one entered already names a run or an adapter."""
        answer = QMessageBox.question(self, "Name taken", f"'{taken}' already names a run or an adapter. "
                                      f"Start this run (and save its adapter) as '{free}'?")
        return answer == QMessageBox.StandardButton.Yes

    def confirm_overwrite(self, path: Path) -> bool:
        """Ask before replacing a different config of the same name."""
        answer = QMessageBox.question(self, "Replace config?", f"{path} already exists with other settings. "
                                      "Replace it?")
        return answer == QMessageBox.StandardButton.Yes

    def start(self) -> None:
        """Save the config (never silently over another) and run `studio train PATH --detach --json`."""
        if self._call is not None and self._call.running:
            return
        try:
            cfg = self.run_config()
        except ConfigError as e:
            self._say(str(e), error=True)
            return
        taken = self._state.taken_names()
        self._renamed_from = None
        if cfg.name in taken:  # never reuse a name: the adapter would be renamed behind the user's back
            free = unique_name(cfg.name, taken)
            if not self.confirm_rename(cfg.name, free):
                self._say(f"Not started: '{cfg.name}' already names a run or an adapter; choose another "
                          "run name on the Model step.", error=True)
                return
            self._renamed_from = cfg.name
            self._state.config["name"] = free
            self._state.renamed.emit(free)
            cfg = self.run_config()
        path = self.config_path()
        text = self._state.write_temp(cfg.to_dict(), "start").read_text(encoding="utf-8")
        if path.exists() and path.read_text(encoding="utf-8") != text and not self.confirm_overwrite(path):
            self._say(f"Not started: {path} exists; choose another run name on the Model step.", error=True)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, path)
        except OSError as e:
            self._say(f"Cannot save {path}: {e}", error=True)
            return
        self._say("Checking the data and the method, then queueing the run…")
        self.start_button.setEnabled(False)
        if self._call is not None:
            self._call.deleteLater()
        self._call = cli_call.CliCall(self._state.home, ["train", str(path), "--detach", "--json"],
                                      timeout_s=TRAIN_TIMEOUT_S, parent=self)
        self._call.finished.connect(self._on_started)
        self._call.start()

    def _on_started(self, result: Any, error: Any) -> None:
        self.start_button.setEnabled(True)
        if error or not isinstance(result, dict) or "run_id" not in result:
            self._say(f"Not started: {error or result}", error=True)
            self.message.emit(f"Run not started: {error or result}")
            return
        run_id, name = int(result["run_id"]), self._state.config.get("name")
        renamed = f" ('{self._renamed_from}' was taken)" if self._renamed_from else ""
        self._say(f"Run {run_id} queued as {name}{renamed}.")
        self.message.emit(f"Run {run_id} ({name}) queued{renamed}")
        self.run_started.emit(run_id)

    def error(self) -> str | None:
        """Nothing after this step: Start has its own checks."""
        return None
