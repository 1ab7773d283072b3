"""A progress bar for one `studio export|merge --json` child: fed by its stderr progress lines."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from studio.paths import Home
from studio.ui import cli_call


class CliProgress(QWidget):
    """Runs one CliCall and shows its {"stage", "fraction"} lines; `done(result, error)` at the end."""

    done = Signal(object, object)

    def __init__(self, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self.call: Any = None
        self.args: list[str] = []
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setToolTip("Progress reported by the export or merge process")
        self.stage = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.stage)
        self.hide()

    @property
    def running(self) -> bool:
        """True while the child runs."""
        return self.call is not None and self.call.running

    def start(self, args: list[str], timeout_s: float = 6 * 3600) -> None:
        """Start `studio ARGS` (a JSON command); the bar moves with its progress lines."""
        self.args = list(args)
        self.bar.setValue(0)
        self.bar.setRange(0, 0)  # busy until the first progress line (torch takes a while to import)
        self.stage.setText("starting…")
        self.show()
        self.call = cli_call.CliCall(self._home, self.args, timeout_s=timeout_s, parent=self)
        if hasattr(self.call, "progress"):
            self.call.progress.connect(self.on_progress)
        self.call.finished.connect(self._finished)
        self.call.start()

    def on_progress(self, line: Any) -> None:
        """One progress line from the child: {"stage": text, "fraction": 0..1}."""
        if not isinstance(line, dict) or "fraction" not in line:
            return
        self.bar.setRange(0, 100)
        self.bar.setValue(int(round(100 * float(line["fraction"]))))
        self.stage.setText(str(line.get("stage") or ""))

    def cancel(self) -> None:
        """Kill the child (its output is written atomically, so nothing half-done stays)."""
        if self.running:
            self.call.cancel()
            self.stage.setText("cancelled")
            self.bar.setRange(0, 100)

    def _finished(self, result: Any, error: Any) -> None:
        self.bar.setRange(0, 100)
        if error is None:
            self.bar.setValue(100)
            self.stage.setText("done")
        else:
            self.stage.setText("failed")
        self.done.emit(result, error)
