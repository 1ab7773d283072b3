"""Live plots: sensible axes with 0-1 points, no negative steps or rates, legends outside the curves,
byte ticks in MiB/GiB (issue 12, item 4)."""
from __future__ import annotations

from PySide6.QtCore import QRectF

from studio.ui.widgets.live_plot import LivePlot
from studio.ui.widgets.plot_axes import BytesAxis, binary_unit
from studio.ui.widgets.run_plots import RunPlots

GROUPS = ["embeddings", *(f"block {i}" for i in range(12)), "head"]


def _ranges(plot: LivePlot) -> tuple[list[float], list[float]]:
    return plot.getPlotItem().getViewBox().viewRange()


def _shown(qtbot, widget, width=520, height=340):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)


def test_empty_plot_spans_the_run_not_minus_ten_to_fifteen(qtbot):
    plot = LivePlot("Tokens/s", {"tokens_per_s": ("tokens/s", "#17becf")}, from_zero=True)
    _shown(qtbot, plot)
    (x0, x1), (y0, y1) = _ranges(plot)
    assert (x0, x1) == (0, 10) and (y0, y1) == (0, 1)
    plot.set_max_steps(240)
    assert _ranges(plot)[0] == [0, 240]
    left = plot.getPlotItem().getAxis("left")
    assert plot._waiting.isVisible() and not left.style["showValues"]  # "no points yet", no fake 0…1 values
    plot.append("tokens_per_s", [1], [500.0])
    plot.flush()
    assert not plot._waiting.isVisible() and left.style["showValues"]


def test_one_point_shows_from_zero_and_covers_the_point(qtbot):
    plot = LivePlot("Tokens/s", {"tokens_per_s": ("tokens/s", "#17becf")}, from_zero=True)
    _shown(qtbot, plot)
    plot.set_max_steps(240)
    plot.append("tokens_per_s", [1], [500.0])
    plot.flush()
    (x0, x1), (y0, y1) = _ranges(plot)
    assert x0 == 0 and x1 == 240
    assert y0 == 0 and 500 < y1 < 1000  # not -400…400


def test_many_points_autorange_never_goes_below_zero(qtbot):
    plot = LivePlot("Tokens/s", {"tokens_per_s": ("tokens/s", "#17becf")}, from_zero=True)
    _shown(qtbot, plot)
    plot.append("tokens_per_s", [1, 2, 3, 4], [400.0, 900.0, 600.0, 800.0])
    plot.flush()
    qtbot.wait(20)
    (x0, x1), (y0, y1) = _ranges(plot)
    assert 0 <= x0 <= 1 and x1 >= 4  # autorange's padding would put x0 at about 0.9 - 0.07 … never < 0
    assert y0 == 0 and y1 >= 900


def test_loss_axis_follows_the_data_and_steps_stay_non_negative(qtbot):
    plot = LivePlot("Loss", {"train_loss": ("train loss", "#1f77b4")})
    _shown(qtbot, plot)
    plot.append("train_loss", [0, 1, 2], [2.5, 2.0, 1.5])
    plot.flush()
    qtbot.wait(20)
    (x0, _), (y0, y1) = _ranges(plot)
    assert x0 >= 0 and 1.0 < y0 < 1.5 and 2.5 <= y1 < 3.0


def test_reset_drops_the_previous_runs_axes(qtbot):
    plots = RunPlots()
    _shown(qtbot, plots, 900, 600)
    plots.add({"train_loss": ([1000.0, 1500.0, 2000.0], [1.0, 0.8, 0.7]),
               "tokens_per_s": ([1000.0, 2000.0], [30000.0, 31000.0])})
    qtbot.wait(20)
    assert _ranges(plots.loss_plot)[0][1] >= 2000
    plots.reset(max_steps=50)
    for plot in plots.plots:
        assert _ranges(plot)[0] == [0, 50], plot.getPlotItem().titleLabel.text
    assert _ranges(plots.speed_plot)[1] == [0, 1]


def test_legend_sits_outside_the_curves_and_inside_the_widget(qtbot):
    plot = LivePlot("Learning rate", {}, from_zero=True)
    _shown(qtbot, plot, 520, 340)
    for i, group in enumerate(GROUPS):
        plot.add_series(f"lr/{group}", group)
        plot.append(f"lr/{group}", [1, 2, 3], [1e-4 * (i + 1)] * 3)
    plot.flush()
    qtbot.wait(50)
    item = plot.getPlotItem()
    view = item.getViewBox().sceneBoundingRect()
    legend = item.legend.sceneBoundingRect()
    widget = QRectF(plot.rect())
    assert not view.intersects(legend), (view, legend)
    assert widget.contains(legend), (widget, legend)
    labels = [label.item.sceneBoundingRect() for _, label in item.legend.items]
    assert len(labels) == len(GROUPS)
    for label in labels:  # every entry, 'block 5' and 'head' included, fully visible
        assert widget.contains(label) and not view.intersects(label)
    assert item.legend.columnCount > 1  # a compact row, not a column as tall as the plot


def test_memory_axis_ticks_in_binary_units_with_short_labels(qtbot):
    plots = RunPlots()
    _shown(qtbot, plots, 900, 600)
    plots.add({"rss_bytes": ([1.0, 2.0, 3.0], [700e6, 900e6, 1.3e9])})
    qtbot.wait(20)
    axis = plots.memory_plot.getPlotItem().getAxis("left")
    assert isinstance(axis, BytesAxis)
    low, high = axis.range
    labels = [text for spacing, values in axis.tickValues(low, high, 300)
              for text in axis.tickStrings(values, 1.0, spacing)]
    assert labels and all(text.endswith(" GiB") for text in labels)
    assert max(len(text) for text in labels) <= 9
    assert binary_unit(300 * 2 ** 20) == ("MiB", 2 ** 20) and binary_unit(100) == ("B", 1.0)
