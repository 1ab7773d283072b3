"""A run's four live plots: loss, learning rate (per layer group), memory (per rank for a run of several
processes) and tokens/s (plus rewards, margin and accuracy for a preference run, preference_plots.py)."""
from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QScrollArea, QVBoxLayout, QWidget

from studio.ui.widgets.live_plot import PALETTE, LivePlot
from studio.ui.widgets.preference_plots import PreferencePlots

LOSS_SERIES = {"train_loss": ("train loss", "#1f77b4"), "eval_loss": ("eval loss", "#ff7f0e")}
LR_SERIES = {"lr": ("learning rate", "#2ca02c")}
MEMORY_SERIES = {"cuda_allocated_bytes": ("CUDA allocated", "#d62728"),
                 "cuda_reserved_bytes": ("CUDA reserved", "#8c564b"),
                 "cuda_peak_bytes": ("CUDA peak", "#e377c2"),
                 "rss_bytes": ("process RSS", "#9467bd")}
SPEED_SERIES = {"tokens_per_s": ("tokens/s", "#17becf")}
STAGGER_POINTS, STAGGER_MS = 5_000, 30  # above this many new points, plots redraw one per turn
MIN_PLOT_HEIGHT = 200  # px: below this a plot's ticks and legend overlap
GROUP_LR = "lr/"  # ULMFiT runs log one learning rate per layer group: lr/<group>
# A run of several processes: rank 0 records every rank's memory as rank<R>_rss_bytes / rank<R>_cuda_peak_bytes.
RANK_MEMORY = re.compile(r"rank(\d+)_(rss|cuda_peak)_bytes$")
RANKS_TIP = ("One curve per process (rank) of the run: its peak CUDA memory on GPUs, its resident memory "
             "on CPUs")

Series = dict[str, tuple[np.ndarray, np.ndarray]]


class RunPlots(QWidget):
    """The plots of the selected run; add() new points, reset() for another run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = LivePlot("Loss", LOSS_SERIES, symbols=("eval_loss",))
        self.lr_plot = LivePlot("Learning rate", LR_SERIES, from_zero=True)
        self.memory_plot = LivePlot("Memory", MEMORY_SERIES, units="B", from_zero=True)
        self.speed_plot = LivePlot("Tokens/s", SPEED_SERIES, from_zero=True)
        self.plots = (self.loss_plot, self.lr_plot, self.memory_plot, self.speed_plot)
        self.loss_plot.setToolTip("Training loss at every logged step; evaluation loss as dots")
        self.lr_plot.setToolTip("Learning rate; one curve per layer group when the run uses ULMFiT's "
                                "discriminative rates or gradual unfreezing")
        self.memory_plot.setToolTip("GPU memory held by PyTorch (allocated, reserved, peak) on a GPU; "
                                    "the worker's resident memory on a CPU")
        self.speed_plot.setToolTip("Training throughput between two logged steps")
        # The plots scroll rather than shrink: seven plots of a preference run squeezed into a small window
        # overlapped their ticks (issue 12); each keeps a readable minimum height.
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, plot in enumerate(self.plots):
            plot.setMinimumHeight(MIN_PLOT_HEIGHT)
            grid.addWidget(plot, i // 2, i % 2)
        self.preference = PreferencePlots()  # rewards, margin, accuracy: shown once a preference run logs them
        for plot in self.preference.plots:
            plot.setMinimumHeight(MIN_PLOT_HEIGHT)
        grid.addWidget(self.preference, 2, 0, 1, 2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self._groups = False
        self._cuda = False
        self._ranks = False  # rank curves replace rank 0's own figures
        self._rank_cuda = False
        self._memory_tip = self.memory_plot.toolTip()

    def reset(self, max_steps: int | None = None) -> None:
        """Empty every curve (another run was selected); the step axes span its `max_steps`."""
        for plot in self.plots:
            plot.reset()
            plot.set_max_steps(max_steps)
        self.preference.reset(max_steps)
        self._groups = self._cuda = self._ranks = self._rank_cuda = False
        self.memory_plot.getPlotItem().setTitle("Memory")
        self.memory_plot.setToolTip(self._memory_tip)

    def add(self, series: Series) -> None:
        """Append new points by metric name and redraw what changed."""
        if not self._groups and any(name.startswith(GROUP_LR) for name in series):
            self._groups = True  # 'lr' is the top group's rate then: its own curve says it
            self.lr_plot.clear_series("lr")
        if not self._cuda and any(name.startswith("cuda_") for name in series):
            self._cuda = True  # on a GPU the allocator's figures matter, not the host process
            self.memory_plot.clear_series("rss_bytes")
        self._see_ranks(series)
        for name, (xs, ys) in series.items():
            rank = RANK_MEMORY.match(name)
            if name.startswith(GROUP_LR):
                self.lr_plot.add_series(name, name[len(GROUP_LR):])
                self.lr_plot.append(name, xs, ys)
            elif rank:
                if rank.group(2) == "rss" and self._rank_cuda:
                    continue
                r = int(rank.group(1))
                self.memory_plot.add_series(name, f"rank {r}", PALETTE[r % len(PALETTE)])
                self.memory_plot.append(name, xs, ys)
            elif (name == "lr" and self._groups) or (name == "rss_bytes" and self._cuda) or \
                    (name in MEMORY_SERIES and self._ranks):
                continue
            else:
                for plot in self.plots:
                    plot.append(name, xs, ys)  # a plot ignores names it does not show
        self.preference.append(series)
        if sum(len(xs) for xs, _ in series.values()) < STAGGER_POINTS:
            for plot in self.plots:
                plot.flush()
            self.preference.flush()
            return
        # A big backlog (a long run just selected): redraw one plot per event-loop turn, so the
        # window never spends one long turn repainting all four.
        for i, plot in enumerate(self.plots):
            QTimer.singleShot(i * STAGGER_MS, plot.flush)
        QTimer.singleShot(len(self.plots) * STAGGER_MS, self.preference.flush)

    def _see_ranks(self, series: Series) -> None:
        """From the first rank figure on, the memory plot shows one curve per rank (rank 0's own
        allocated/reserved/RSS curves would repeat 'rank 0'); on GPUs, the CUDA peak of each."""
        ranks = [m for m in map(RANK_MEMORY.match, series) if m]
        if ranks and not self._ranks:
            self._ranks = True
            for name in MEMORY_SERIES:
                self.memory_plot.clear_series(name)
            self.memory_plot.getPlotItem().setTitle("Memory per rank")
            self.memory_plot.setToolTip(RANKS_TIP)
        if not self._rank_cuda and any(m.group(2) == "cuda_peak" for m in ranks):
            self._rank_cuda = True
            for name in self.memory_plot.names:
                if name.endswith("_rss_bytes") and RANK_MEMORY.match(name):
                    self.memory_plot.clear_series(name)

    @property
    def memory_ranks(self) -> list[str]:
        """Legend names of the rank curves with points ('rank 0', 'rank 1' …)."""
        return [f"rank {RANK_MEMORY.match(n).group(1)}" for n in self.memory_plot.names
                if RANK_MEMORY.match(n) and self.memory_plot.has_data(n)]

    @property
    def lr_groups(self) -> list[str]:
        """The layer groups with a learning-rate curve in the current run."""
        return [n[len(GROUP_LR):] for n in self.lr_plot.names
                if n.startswith(GROUP_LR) and self.lr_plot.has_data(n)]
