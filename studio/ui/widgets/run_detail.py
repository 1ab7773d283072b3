"""One run in detail: live curves, progress facts, error, worker log tail and the control buttons."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from studio import jobs
from studio.paths import Home
from studio.store import metrics
from studio.ui.progress import StepRate, format_count, format_duration
from studio.ui.widgets.live_plot import LivePlot

LOSS_SERIES = {"train_loss": ("train loss", "#1f77b4"), "eval_loss": ("eval loss", "#ff7f0e")}
LR_SERIES = {"lr": ("learning rate", "#2ca02c")}
MEMORY_SERIES = {"rss_bytes": ("process RSS", "#9467bd"),
                 "cuda_allocated_bytes": ("CUDA allocated", "#d62728"),
                 "cuda_reserved_bytes": ("CUDA reserved", "#8c564b")}
BUSY_TEXT = {"stop": "stopping…", "pause": "pausing…", "resume": "resuming…"}


class RunDetail(QWidget):
    """Shows the selected run; show_run() at ~1 Hz, poll_metrics() at ~10 Hz."""

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self._run_id: int | None = None
        self._after_id = 0
        self._rate = StepRate()
        self._tokens_per_s: float | None = None
        self._log_text = ""

        self.stack = QStackedWidget()
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self._build_content())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

    def _build_content(self) -> QWidget:
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Cancel the run at the next step boundary")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Save a complete checkpoint, then free the GPU")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue from the last complete checkpoint")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        for button in (self.stop_button, self.pause_button, self.resume_button):
            header.addWidget(button)

        facts = QGridLayout()
        self.step_label, self.speed_label, self.eta_label = QLabel(), QLabel(), QLabel()
        self.stage_label, self.params_label = QLabel(), QLabel()
        pairs = (("Step", self.step_label), ("Tokens/s", self.speed_label), ("ETA", self.eta_label),
                 ("Stage", self.stage_label), ("Trainable", self.params_label))
        for i, (name, label) in enumerate(pairs):
            key = QLabel(name + ":")
            key.setEnabled(False)  # the palette's disabled text: a quiet caption colour
            facts.addWidget(key, i // 3, (i % 3) * 2)
            facts.addWidget(label, i // 3, (i % 3) * 2 + 1)
        facts.setColumnStretch(5, 1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.loss_plot = LivePlot("Loss", LOSS_SERIES, symbols=("eval_loss",))
        self.lr_plot = LivePlot("Learning rate", LR_SERIES)
        self.memory_plot = LivePlot("Memory", MEMORY_SERIES, units="B")
        self.plots = (self.loss_plot, self.lr_plot, self.memory_plot)
        plots = QHBoxLayout()
        for plot in self.plots:
            plots.addWidget(plot)
        plot_box = QWidget()
        plot_box.setLayout(plots)
        plots.setContentsMargins(0, 0, 0, 0)

        self.log_box = QPlainTextEdit()
        self.log_box.setReadOnly(True)
        self.log_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_box.setPlaceholderText("The worker log is empty.")
        self.log_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(plot_box)
        split.addWidget(self.log_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(facts)
        layout.addWidget(self.error_label)
        layout.addWidget(split, 1)
        return content

    @property
    def run_id(self) -> int | None:
        """The run shown, if any."""
        return self._run_id

    def show_empty(self, text: str) -> None:
        """No run to show: explain why instead."""
        self._switch(None)
        self.empty_label.setText(text)
        self.stack.setCurrentIndex(0)

    def show_run(self, run: dict[str, Any], busy: str | None = None) -> None:
        """Show a run's row (status, progress, error, log); busy = a command in flight for it."""
        if run["id"] != self._run_id:
            self._switch(run["id"])
            self.poll_metrics()
        self.stack.setCurrentIndex(1)
        status = BUSY_TEXT.get(busy or "", run["status"])
        self.title.setText(f"#{run['id']}  {run.get('name') or ''}  —  {status}")
        step, max_steps = run.get("step") or 0, run.get("max_steps")
        self.step_label.setText(f"{step} / {max_steps}" if max_steps else f"{step} / ?")
        self.speed_label.setText("—" if self._tokens_per_s is None else f"{self._tokens_per_s:,.0f}")
        eta = self._rate.eta(step, max_steps) if run["status"] == "running" else None
        self.eta_label.setText(format_duration(eta))
        self.stage_label.setText(run.get("stage") or "—")
        self.params_label.setText(self._params_text(run))
        self.error_label.setText(run.get("error") or "")
        self.error_label.setVisible(bool(run.get("error")))
        idle = busy is None
        self.stop_button.setEnabled(idle and run["status"] == "running")
        self.pause_button.setEnabled(idle and run["status"] == "running")
        self.resume_button.setEnabled(idle and jobs.resumable(run))
        self._show_log(jobs.log_tail(self._home, run["id"], lines=200))

    def poll_metrics(self) -> int:
        """Fetch metric rows newer than the last seen id into the curves; returns rows read."""
        if self._run_id is None:
            return 0
        rows = metrics.get_metrics(self._db, self._run_id, after_id=self._after_id)
        if not rows:
            return 0
        series: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for row in rows:
            xs, ys = series[row["name"]]
            xs.append(row["step"])
            ys.append(row["value"] if row["value"] is not None else float("nan"))
            if row["wall_time"] is not None:
                self._rate.add(row["wall_time"], row["step"])
        self._after_id = rows[-1]["id"]
        if "tokens_per_s" in series:
            self._tokens_per_s = series["tokens_per_s"][1][-1]
        for plot in self.plots:
            for name in plot.names:
                if name in series:
                    plot.append(name, *series[name])
            plot.flush()
        return len(rows)

    def _switch(self, run_id: int | None) -> None:
        """Start over for another run: empty curves, rate and log."""
        self._run_id, self._after_id = run_id, 0
        self._rate.clear()
        self._tokens_per_s = None
        self._log_text = ""
        self.log_box.clear()
        for plot in self.plots:
            plot.reset()

    def _show_log(self, text: str) -> None:
        if text == self._log_text:
            return  # unchanged: keep the user's scroll position and selection
        self._log_text = text
        self.log_box.setPlainText(text)
        bar = self.log_box.verticalScrollBar()
        bar.setValue(bar.maximum())

    @staticmethod
    def _params_text(run: dict[str, Any]) -> str:
        trainable, total = run.get("trainable_params"), run.get("total_params")
        if not trainable:
            return "—"
        if not total:
            return format_count(trainable)
        return f"{format_count(trainable)} of {format_count(total)} ({trainable / total:.2%})"
