"""Step plots of one run share the x range 0…max_steps, few points show as dots, accuracy reads 0…1,
and a preference run's seven plots scroll instead of squeezing (issue 12, QA round 2)."""
from __future__ import annotations

import numpy as np

from studio.ui.widgets.run_plots import MIN_PLOT_HEIGHT, RunPlots


def _x_range(plot) -> list[float]:
    return plot.getPlotItem().getViewBox().viewRange()[0]


def _shown(qtbot, width=1000, height=420):
    plots = RunPlots()
    qtbot.addWidget(plots)
    plots.resize(width, height)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def test_all_step_plots_span_zero_to_max_steps_whatever_their_points(qtbot):
    plots = _shown(qtbot)
    plots.reset(max_steps=40)
    # Loss from step 1, learning rate from 1, tokens/s only from step 2: each its own data extent.
    plots.add({"train_loss": (np.arange(1, 7.0), np.linspace(3, 2, 6)),
               "lr": (np.arange(1, 7.0), np.full(6, 1e-4)),
               "tokens_per_s": (np.arange(2, 7.0), np.full(5, 900.0)),
               "rewards/accuracies": (np.arange(1, 3.0), np.array([0.5, 1.0])),
               "rewards/chosen": (np.array([1.0]), np.array([0.02]))})
    ranges = {p.plotItem.titleLabel.text: _x_range(p) for p in (*plots.plots, *plots.preference.plots)}
    assert all(r == [0, 40] for r in ranges.values()), ranges


def test_a_run_past_its_planned_steps_still_shows_its_last_point(qtbot):
    plots = _shown(qtbot)
    plots.reset(max_steps=4)
    plots.add({"train_loss": (np.arange(1, 7.0), np.linspace(3, 2, 6))})
    assert _x_range(plots.loss_plot) == [0, 6]


def test_one_or_two_points_are_dots_then_a_plain_line(qtbot):
    plots = _shown(qtbot)
    plots.reset(max_steps=10)
    plots.add({"tokens_per_s": (np.array([2.0]), np.array([800.0]))})
    curve = plots.speed_plot.curve("tokens_per_s")
    assert curve.opts["symbol"] == "o"  # one point draws no line: without a dot it is invisible
    plots.add({"tokens_per_s": (np.array([3.0, 4.0]), np.array([820.0, 810.0]))})
    assert curve.opts["symbol"] is None


def test_accuracy_axis_reads_zero_to_one_with_one_point(qtbot):
    plots = _shown(qtbot)
    plots.reset(max_steps=10)
    plots.add({"rewards/accuracies": (np.array([1.0]), np.array([0.0]))})
    low, high = plots.preference.accuracy_plot.getPlotItem().getViewBox().viewRange()[1]
    assert -0.05 < low < 0.0 and 1.0 < high < 1.05  # 0…1 and a little room, not −0.5…0.5 around the point


def test_seven_plots_keep_their_height_and_scroll_in_a_small_window(qtbot):
    plots = _shown(qtbot, width=900, height=420)
    plots.reset(max_steps=10)
    plots.add({"rewards/chosen": (np.array([1.0, 2.0]), np.array([0.02, 0.04]))})
    qtbot.waitUntil(lambda: plots.preference.isVisible())
    qtbot.waitUntil(lambda: plots.scroll.verticalScrollBar().maximum() > 0)  # laid out after the show
    heights = [p.height() for p in (*plots.plots, *plots.preference.plots)]
    assert min(heights) >= MIN_PLOT_HEIGHT
