"""LiveCurveBuffer (pure numpy), the LivePlot widget, and the progress helpers."""
from __future__ import annotations

import numpy as np
import pytest

from studio.ui.progress import StepRate, format_bytes, format_count, format_duration
from studio.ui.widgets.live_plot import LiveCurveBuffer, LivePlot


def test_buffer_grows_by_doubling_and_keeps_values():
    buf = LiveCurveBuffer(capacity=4)
    buf.append([0, 1, 2], [10, 11, 12])
    assert buf.capacity == 4
    buf.append([3, 4], [13, 14])
    assert buf.capacity == 8
    buf.append(range(5, 20), range(15, 30))
    assert buf.capacity == 32  # 20 points: doubled twice, straight to the next power
    x, y = buf.view()
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(x, np.arange(20))
    np.testing.assert_array_equal(y, np.arange(10, 30))


def test_view_is_a_view_not_a_copy():
    buf = LiveCurveBuffer(capacity=8)
    buf.append([1, 2], [3, 4])
    x, _ = buf.view()
    assert np.shares_memory(x, buf.view()[0]) and len(x) == 2


def test_rewind_drops_points_from_the_new_x_on():
    buf = LiveCurveBuffer()
    buf.append(range(1, 11), range(1, 11))
    buf.append([6, 7], [60, 70])  # resumed from the step-5 checkpoint
    x, y = buf.view()
    np.testing.assert_array_equal(x, [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(y, [1, 2, 3, 4, 5, 60, 70])


def test_rewind_inside_one_batch_and_equal_x_kept():
    buf = LiveCurveBuffer()
    buf.append([1, 2, 3, 2, 3, 3], [1, 2, 3, 20, 30, 31])
    x, y = buf.view()
    np.testing.assert_array_equal(x, [1, 2, 3, 3])
    np.testing.assert_array_equal(y, [1, 20, 30, 31])
    assert buf.last() == (3.0, 31.0)


def test_buffer_rejects_mismatched_lengths_and_clears():
    buf = LiveCurveBuffer()
    with pytest.raises(ValueError):
        buf.append([1, 2], [1])
    buf.append([], [])
    assert len(buf) == 0 and buf.last() is None
    buf.append([1], [2])
    buf.clear()
    assert len(buf) == 0


def test_live_plot_creates_each_curve_once(qtbot):
    plot = LivePlot("Loss", {"train_loss": ("train", "#1f77b4"), "eval_loss": ("eval", "#ff7f0e")},
                    symbols=("eval_loss",))
    qtbot.addWidget(plot)
    assert plot.point_count("train_loss") == 0 and plot.curve("train_loss") is None
    plot.append("train_loss", [1, 2], [1.0, 0.9])
    plot.append("not_shown_here", [1], [1])
    plot.flush()
    curve = plot.curve("train_loss")
    assert plot.point_count("train_loss") == 2 and plot.curve("eval_loss") is None
    plot.append("train_loss", [3], [0.8])
    plot.flush()
    assert plot.curve("train_loss") is curve and plot.point_count("train_loss") == 3
    assert curve.opts["autoDownsample"] and curve.opts["downsampleMethod"] == "peak"
    assert curve.opts["clipToView"]
    plot.reset()
    assert plot.curve("train_loss") is curve and plot.point_count("train_loss") == 0


def test_step_rate_and_eta():
    rate = StepRate(window_s=60)
    assert rate.eta(0, 100) is None
    for t in range(0, 11):
        rate.add(1000.0 + t, 2 * t)  # 2 steps/s
    assert rate.rate() == pytest.approx(2.0)
    assert rate.eta(20, 100) == pytest.approx(40.0)
    rate.add(1011.0, 5)  # rewound by a resume: old pace forgotten
    assert rate.rate() is None


def test_formatting():
    assert format_duration(None) == "—"
    assert format_duration(45) == "45 s"
    assert format_duration(200) == "3 min 20 s"
    assert format_duration(7500) == "2 h 05 min"
    assert format_bytes(3_400_000) == "3.4 MB" and format_bytes(1.2e9) == "1.20 GB"
    assert format_count(1_622_016) == "1.62 M" and format_count(None) == "—"
