"""The Training step's learning-rate range test: the "Find" button's child process, its progress,
loss against learning rate (log x) with the suggestion marked, and "Use this rate".

The sweep itself runs in `studio lr-find --json` (WizardState.start_lr_find); this widget only
renders what comes back, so the window never blocks and never imports torch.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from studio.ui.widgets.live_plot import pg


def result_text(result: dict[str, Any]) -> str:
    """Both proposals, which one is suggested and why, in one short paragraph."""
    def rate(v: Any) -> str:
        return "–" if v is None else f"{v:.2e}"

    lines = [f"{result['steps_run']} of {result['steps']} steps ({result['stopped']}). "
             f"Steepest descent {rate(result.get('steepest'))}; minimum-loss rate ÷ 10 "
             f"{rate(result.get('min_loss_div10'))}."]
    if result.get("suggested") is None:
        lines.append(f"No suggestion: {result.get('reason')}.")
    else:
        lines.append(f"Suggested {rate(result['suggested'])} ({result['rule']}: {result['reason']}).")
        if result.get("layer_groups"):
            lines.append("ULMFiT: this is the top group's rate; lower groups keep their ratio to it.")
    return " ".join(lines)


class LrFindPanel(QGroupBox):
    """Progress and result of the range test; `use_rate(rate)` when the user takes the suggestion."""

    use_rate = Signal(float)

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__("Learning-rate range test", parent)
        self._state = state
        self.setToolTip("Trains up to 100 steps from the run's start on a throwaway copy with the rate "
                        "rising from 1e-7 to 1, and proposes the rate where the loss falls fastest")
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip(self.toolTip())
        self.find_button.clicked.connect(self._on_find)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.plot: Any = None  # built on first use (_ensure_plot): most wizards never run a range test
        self.use_button = QPushButton("Use this rate")
        self.use_button.setToolTip("Set the learning rate field to the suggested rate")
        self.use_button.clicked.connect(self._on_use)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(state.cancel_lr_find)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._points: list[tuple[float, float]] = []
        self.result: dict[str, Any] | None = None
        state.lr_found.connect(self.refresh)
        state.lr_find_progress.connect(self._on_progress)
        self.refresh()

    def _ensure_plot(self) -> None:
        """Loss against log LR: a plot widget costs tens of ms, paid only once a test is shown."""
        if self.plot is not None:
            return
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate (log)")
        # pyqtgraph's SI scaling reads log10 ticks as plain numbers: "10² (x1e-09)" for a rate of 1e-7
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLabel("left", "loss")
        self.plot.setMinimumHeight(160)
        self.raw = self.plot.plot(pen=pg.mkPen((150, 150, 150), width=1), connect="finite")
        self.smoothed = self.plot.plot(pen=pg.mkPen((40, 120, 220), width=2), connect="finite")
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((220, 80, 40), width=2,
                                                                            style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.marker)
        self.layout().insertWidget(0, self.plot, 1)

    @property
    def suggested(self) -> float | None:
        """The suggestion on show, if any."""
        return (self.result or {}).get("suggested")

    def _on_find(self) -> None:
        self._points = []
        self._ensure_plot()
        self.raw.setData([], [])
        self.smoothed.setData([], [])
        self._state.start_lr_find()

    def _on_use(self) -> None:
        if self.suggested is not None:
            self.use_rate.emit(float(self.suggested))

    def show_stored(self) -> None:
        """The last stored result for this config, unless a test is running or this config's is on show
        (a result for other settings, e.g. another batch size, gives way to this config's or none)."""
        state = self._state
        if state.running("lr-find") or (state.lr_find or {}).get("config_hash") == state.lr_find_key():
            return
        state.lr_find, state.lr_find_error = state.stored_lr_find(), None
        self.refresh()

    def _on_progress(self, obj: Any) -> None:
        self.progress.setValue(int(1000 * float(obj.get("fraction") or 0.0)))
        self.status.setText(str(obj.get("stage", "")))
        if obj.get("lr") is not None and obj.get("loss") is not None and math.isfinite(obj["loss"]):
            self._points.append((float(obj["lr"]), float(obj["loss"])))
            xs, ys = zip(*self._points)
            self._ensure_plot()
            self.raw.setData(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))

    def refresh(self) -> None:
        """Show the state's range test: running, failed, or its curve and suggestion."""
        running = self._state.running("lr-find")
        shown = running or self._state.lr_find is not None or bool(self._state.lr_find_error)
        self.setVisible(shown)
        self.find_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.result = None if running else self._state.lr_find
        self.use_button.setEnabled(self.suggested is not None)
        if not shown:
            return
        self._ensure_plot()
        self.marker.setVisible(self.suggested is not None)
        if running:
            self.progress.setValue(0)
            self.status.setText("Starting `studio lr-find` (loads the model and data as the run will)…")
            return
        if self._state.lr_find_error:
            self.status.setText(f"The range test failed: {self._state.lr_find_error}")
            return
        if self.result is None:
            self.status.setText("Find runs a short learning-rate range test on a copy of this run's start.")
            return
        lrs = np.asarray(self.result["lrs"], dtype=np.float64)
        self.raw.setData(lrs, np.asarray([np.nan if v is None else v for v in self.result["losses"]], dtype=np.float64))
        self.smoothed.setData(lrs, np.asarray([np.nan if v is None else v for v in self.result["smoothed"]],
                                              dtype=np.float64))
        if self.suggested is not None:
            self.marker.setValue(math.log10(self.suggested))  # the x axis is in log10 units
        self.status.setText(result_text(self.result))
