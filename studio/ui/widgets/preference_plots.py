"""A preference run's plots beside the loss: reward of the chosen and rejected answers, their margin and
the preference accuracy, under the names TRL's DPO / KTO / ORPO trainers log (eval ones prefixed eval_)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QWidget

from studio.ui.widgets.live_plot import LivePlot

REWARD_SERIES = {"rewards/chosen": ("chosen", "#2ca02c"), "rewards/rejected": ("rejected", "#d62728"),
                 "eval_rewards/chosen": ("eval chosen", "#1b7a1b"),
                 "eval_rewards/rejected": ("eval rejected", "#8c1c1c")}
MARGIN_SERIES = {"rewards/margins": ("margin", "#9467bd"), "eval_rewards/margins": ("eval margin", "#5c3d8a")}
ACCURACY_SERIES = {"rewards/accuracies": ("accuracy", "#1f77b4"),
                   "eval_rewards/accuracies": ("eval accuracy", "#ff7f0e")}
PREFERENCE_METRICS = (*REWARD_SERIES, *MARGIN_SERIES, *ACCURACY_SERIES)
EVAL_PREFIX = "eval_"

Series = Mapping[str, tuple[np.ndarray, np.ndarray]]


def is_preference_metric(name: str) -> bool:
    """Whether a metric is one of the reward figures a preference trainer logs."""
    return name in PREFERENCE_METRICS


def _eval_names(series: Mapping[str, tuple[str, str]]) -> tuple[str, ...]:
    # Evaluation is logged every few hundred steps: dots, like the eval loss, not a line.
    return tuple(n for n in series if n.startswith(EVAL_PREFIX))


class PreferencePlots(QWidget):
    """Reward, margin and accuracy plots; hidden until the run logs a reward (only preference runs do)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reward_plot = LivePlot("Reward: chosen vs rejected", REWARD_SERIES, symbols=_eval_names(REWARD_SERIES))
        self.margin_plot = LivePlot("Reward margin", MARGIN_SERIES, symbols=_eval_names(MARGIN_SERIES))
        self.accuracy_plot = LivePlot("Preference accuracy", ACCURACY_SERIES, symbols=_eval_names(ACCURACY_SERIES),
                                      y_range=(0.0, 1.0))  # a share: 0…1, not −0.5…0.5 around one point
        self.plots = (self.reward_plot, self.margin_plot, self.accuracy_plot)
        self.reward_plot.setToolTip("β × log-probability ratio of policy to reference, averaged over the batch, "
                                    "for the chosen and the rejected answers; training pushes them apart")
        self.margin_plot.setToolTip("Mean reward of the chosen answer minus that of the rejected one; it grows "
                                    "while the model learns the preference")
        self.accuracy_plot.setToolTip("Share of pairs whose chosen answer gets the higher reward (0.5 = chance); "
                                      "KTO, which sees no pairs, does not log it")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for plot in self.plots:
            row.addWidget(plot)
        self.hide()

    def reset(self, max_steps: int | None = None) -> None:
        """Empty every curve and hide (another run was selected); the step axes span its `max_steps`."""
        for plot in self.plots:
            plot.reset()
            plot.set_max_steps(max_steps)
        self.hide()

    def append(self, series: Series) -> bool:
        """Buffer the reward metrics among `series` (others are ignored); True if there were any."""
        found = False
        for name, (xs, ys) in series.items():
            if is_preference_metric(name):
                found = True
                for plot in self.plots:
                    plot.append(name, xs, ys)  # a plot ignores names it does not show
        if found and self.isHidden():
            self.show()
        return found

    def flush(self) -> None:
        """Redraw what changed (the caller's timer decides when)."""
        for plot in self.plots:
            plot.flush()
