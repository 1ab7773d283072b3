"""One run in detail: live curves, progress facts, error, worker log tail and the control buttons."""
from __future__ import annotations

import html
import statistics
from collections import deque
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from studio import jobs
from studio.jobs import run_admin
from studio.jobs.log_lines import readable_log
from studio.paths import Home
from studio.ui.progress import StepRate, format_count, format_duration
from studio.ui.widgets.metric_feed import MetricFeed
from studio.ui.widgets.run_plots import RunPlots

BUSY_TEXT = {"stop": "stopping…", "pause": "pausing…", "resume": "resuming…"}
STOP_TIP = "Cancel the run at the next step boundary"
CANCEL_TIP = "Take the run out of the queue; it never starts (Resume queues it again)"
# How the worker words an out-of-memory retry (studio/worker/oom.py RETRY_PREFIX; a test ties the two).
OOM_RETRY_PREFIX = "Out of memory at step"
MAX_OTHER_WARNINGS = 5
LOG_MIN_LINES = 8  # the log pane's minimum height in lines
# The header's tokens/s: the median of this many latest logged values (one odd step moves it not).
RECENT_SPEEDS = 10
FACTS_PER_ROW = 4


class RunDetail(QWidget):
    """Shows the selected run; show_run() at ~1 Hz, poll_metrics() at ~10 Hz."""

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self._run: dict[str, Any] | None = None
        self._feed: MetricFeed | None = None
        self._rate = StepRate()
        self._tokens_per_s: deque[float] = deque(maxlen=RECENT_SPEEDS)
        self._worker_started: float | None = None  # the shown run's current worker (a resume changes it)
        self._epoch: float | None = None
        self._world: dict[str, int] = {}  # world_size, effective_batch as rank 0 recorded them
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
        self.stop_button.setToolTip(STOP_TIP)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Save a complete checkpoint, then free the GPU")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue from the last complete checkpoint")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        for button in (self.stop_button, self.pause_button, self.resume_button):
            header.addWidget(button)

        facts = QGridLayout()
        self.step_label, self.epoch_label, self.eta_label = QLabel(), QLabel(), QLabel()
        self.speed_label, self.stage_label, self.params_label = QLabel(), QLabel(), QLabel()
        self.processes_label, self.batch_label = QLabel(), QLabel()
        pairs = (("Step", self.step_label, "Optimizer steps done / planned"),
                 ("Epoch", self.epoch_label, "Passes over the training data so far"),
                 ("ETA", self.eta_label, "Time left at the pace of the last minute"),
                 ("Tokens/s", self.speed_label, "Training throughput: the median of the last "
                                                f"{RECENT_SPEEDS} logged steps, as the Tokens/s plot shows"),
                 ("Stage", self.stage_label, "What the worker is doing"),
                 ("Trainable", self.params_label, "Parameters the method trains, of the model's total"),
                 ("Processes", self.processes_label, "Processes training the run (one per GPU, through "
                                                     "torchrun) and how they share the model"),
                 ("Batch", self.batch_label, "Effective batch: micro-batch × gradient accumulation × processes"))
        for i, (name, label, tip) in enumerate(pairs):
            key = QLabel(name + ":")
            key.setEnabled(False)  # the palette's disabled text: a quiet caption colour
            key.setToolTip(tip)
            label.setToolTip(tip)
            facts.addWidget(key, i // FACTS_PER_ROW, (i % FACTS_PER_ROW) * 2)
            facts.addWidget(label, i // FACTS_PER_ROW, (i % FACTS_PER_ROW) * 2 + 1)
        facts.setColumnStretch(FACTS_PER_ROW * 2 - 1, 1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.setStyleSheet("color: #b26a00;")
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label.setToolTip("Warnings recorded on the run: out-of-memory retries first, then data")

        self.run_plots = RunPlots()
        self.loss_plot, self.lr_plot = self.run_plots.loss_plot, self.run_plots.lr_plot
        self.memory_plot, self.speed_plot = self.run_plots.memory_plot, self.run_plots.speed_plot
        self.plots = self.run_plots.plots

        self.log_box = QPlainTextEdit()
        self.log_box.setReadOnly(True)
        self.log_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_box.setPlaceholderText("The worker log is empty.")
        # Long lines (a preference run's reward dicts) wrap: the pane scrolled sideways and hid them.
        self.log_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log_box.setMinimumHeight(LOG_MIN_LINES * self.log_box.fontMetrics().lineSpacing())
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)  # the log was dragged (or squeezed) down to 2-3 lines
        split.addWidget(self.run_plots)
        split.addWidget(self.log_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(facts)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warnings_label)
        layout.addWidget(split, 1)
        return content

    @property
    def run_id(self) -> int | None:
        """The run shown, if any."""
        return None if self._run is None else self._run["id"]

    @property
    def loading(self) -> bool:
        """True while the shown run's earlier metrics are still being read."""
        return self._feed is not None and self._feed.loading

    def show_empty(self, text: str) -> None:
        """No run to show: explain why instead."""
        if self._run is not None:
            self._switch(None)
        self.empty_label.setText(text)
        self.stack.setCurrentIndex(0)

    def show_run(self, run: dict[str, Any], busy: str | None = None) -> None:
        """Show a run's row (status, progress, error, log); busy = a command in flight for it."""
        if run["id"] != self.run_id:
            self._switch(run)
            self.poll_metrics()
        self._run = run
        self.stack.setCurrentIndex(1)
        queued = run["status"] == "queued"
        busy_text = "cancelling…" if busy == "stop" and queued else BUSY_TEXT.get(busy or "")
        self.title.setText(f"#{run['id']}  {run.get('name') or ''}  —  {busy_text or self._status(run)}")
        self._update_facts()
        self.stage_label.setText(run.get("stage") or "—")
        self.params_label.setText(self._params_text(run))
        self._show_processes()
        self.error_label.setText(run.get("error") or "")
        self.error_label.setVisible(bool(run.get("error")))
        self.warnings_label.setText(self._warnings_html(run.get("warnings") or []))
        self.warnings_label.setVisible(bool(run.get("warnings")))
        idle = busy is None
        self.stop_button.setText("Cancel" if queued else "Stop")
        self.stop_button.setToolTip(CANCEL_TIP if queued else STOP_TIP)
        self.stop_button.setEnabled(idle and run_admin.stoppable(run))  # paused too: it becomes cancelled
        self.pause_button.setEnabled(idle and run["status"] == "running")
        self.resume_button.setEnabled(idle and jobs.resumable(run))
        self._show_log(readable_log(jobs.log_tail(self._home, run["id"], lines=200)))  # Trainer dicts in words

    @staticmethod
    def _status(run: dict[str, Any]) -> str:
        position = run.get("queue_position")
        if run["status"] == "queued" and position:
            return f"queued, #{position} in the queue: it starts when the runs ahead of it end"
        return jobs.status_text(run)

    def _update_facts(self) -> None:
        """Step, epoch, ETA and tokens/s from the run row and the newest metrics."""
        run = self._run
        if run is None:
            return
        step, max_steps = run.get("step") or 0, run.get("max_steps")
        self.step_label.setText(f"{step} / {max_steps}" if max_steps else f"{step} / ?")
        self.epoch_label.setText("—" if self._epoch is None else f"{self._epoch:.2f}")
        # The pace of the current worker only: not the steps before a pause, nor the pause itself.
        started = run.get("pid_started_at")
        if started is not None and started != self._worker_started:
            if self._worker_started is not None:
                self._tokens_per_s.clear()  # resumed: the old worker's speeds say nothing of this one's
            self._worker_started = started
        self._rate.start_at(started)
        speeds = self._tokens_per_s
        # A paused or ended run has no throughput: its last figure would read as a live one.
        live = speeds and run["status"] == "running"
        self.speed_label.setText(f"{statistics.median(speeds):,.0f}" if live else "—")
        eta = self._rate.eta(step, max_steps) if run["status"] == "running" else None
        self.eta_label.setText(format_duration(eta))

    def poll_metrics(self) -> int:
        """Add metric rows newer than the last seen id to the curves; returns points read."""
        if self._feed is None:
            return 0
        batch = self._feed.poll()
        if not batch:
            return 0
        for wall_time, step in batch.times:
            self._rate.add(wall_time, step)
        if "tokens_per_s" in batch.series:
            self._tokens_per_s.extend(float(v) for v in batch.series["tokens_per_s"][1][-RECENT_SPEEDS:])
        if "epoch" in batch.series:
            self._epoch = float(batch.series["epoch"][1][-1])
        for name in ("world_size", "effective_batch"):
            if name in batch.series:
                self._world[name] = int(batch.series[name][1][-1])
                self._show_processes()
        self.run_plots.add(batch.series)
        self._update_facts()
        return sum(len(xs) for xs, _ in batch.series.values())

    def _switch(self, run: dict[str, Any] | None) -> None:
        """Start over for another run: empty curves, rate and log; a new feed reads its metrics."""
        self._run = run
        if self._feed is not None:
            self._feed.deleteLater()  # a backlog still loading for it is dropped with it
        self._feed = None if run is None else MetricFeed(self._db, run["id"], self)
        if self._feed is not None:
            self._feed.ready.connect(self.poll_metrics)
        self._rate.clear()
        self._tokens_per_s.clear()
        self._epoch = self._worker_started = None
        self._world = {}
        self._log_text = ""
        self.log_box.clear()
        self.run_plots.reset(run.get("max_steps") if run else None)  # axes span the new run at once

    def _show_log(self, text: str) -> None:
        if text == self._log_text:
            return  # unchanged: keep the user's scroll position and selection
        self._log_text = text
        self.log_box.setPlainText(text)
        bar = self.log_box.verticalScrollBar()
        bar.setValue(bar.maximum())

    @staticmethod
    def _warnings_html(warnings: list[str]) -> str:
        """Out-of-memory retries in bold (they changed the micro-batch), then the first data warnings."""
        retries = [w for w in warnings if w.startswith(OOM_RETRY_PREFIX)]
        others = [w for w in warnings if not w.startswith(OOM_RETRY_PREFIX)]
        lines = [f"<b>⚠ {html.escape(w)}</b>" for w in retries]
        lines += [f"⚠ {html.escape(w)}" for w in others[:MAX_OTHER_WARNINGS]]
        if len(others) > MAX_OTHER_WARNINGS:
            lines.append(f"… and {len(others) - MAX_OTHER_WARNINGS} more (studio show RUN lists them all)")
        return "<br>".join(lines)

    def _show_processes(self) -> None:
        """Processes and effective batch: what rank 0 recorded, else what the config asks for."""
        if self._run is not None:
            processes, batch = processes_text(self._run.get("config") or {}, self._world)
            self.processes_label.setText(processes)
            self.batch_label.setText(batch)

    @staticmethod
    def _params_text(run: dict[str, Any]) -> str:
        trainable, total = run.get("trainable_params"), run.get("total_params")
        if not trainable:
            return "—"
        if not total:
            return format_count(trainable)
        return f"{format_count(trainable)} of {format_count(total)} ({trainable / total:.2%})"


def processes_text(config: dict[str, Any], recorded: dict[str, int]) -> tuple[str, str]:
    """('2 (DDP)', '8 × 1 × 2 = 16') from a run's config and its recorded world_size/effective_batch
    metrics (which say what auto became); a run without a distributed section trained in one process."""
    training = config.get("training") or {}
    spread = training.get("distributed") or {}
    micro, accumulation = training.get("batch_size"), training.get("gradient_accumulation") or 1
    n = recorded.get("world_size") or spread.get("processes") or 1
    strategy = str(spread.get("strategy") or "ddp").upper()
    processes = "1" if n == 1 else f"{n} ({strategy})"
    if micro is None:
        return processes, "—"
    if n == "auto":
        return "auto (every GPU)", f"{micro} × {accumulation} × processes"
    total = recorded.get("effective_batch") or micro * accumulation * int(n)
    return processes, f"{micro} × {accumulation} × {n} = {total}"
