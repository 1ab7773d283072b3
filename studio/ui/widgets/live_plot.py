"""Live training curves: growable numpy buffers and a pyqtgraph plot that redraws from them."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

# pyqtgraph picks the first Qt binding it finds; make it ours even if PyQt is installed too.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
from PySide6.QtGui import QPalette  # noqa: E402  (binding before pyqtgraph, see above)

import pyqtgraph as pg  # noqa: E402

from studio.ui.widgets.plot_axes import BytesAxis, empty_x_range, single_y_range  # noqa: E402
from studio.ui.widgets.plot_legend import fit_legend, legend_below  # noqa: E402

FIXED_Y_PADDING = 0.03  # of a fixed y range (accuracy 0…1), so points at its ends stay clear of the frame
FEW_POINTS = 3  # a line series with fewer points is drawn as dots too
WAITING, WAITING_COLOR = "no points yet", "#8a8a8a"  # mid grey: readable on light and dark
# Colours for series added on the fly (layer groups, runs in an overlay): matplotlib's tab10.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


class LiveCurveBuffer:
    """x/y float64 arrays that grow by doubling; view() returns the filled part without copying."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(max(1, capacity), dtype=np.float64)
        self._y = np.empty(max(1, capacity), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        """Allocated points (grows by doubling, never shrinks)."""
        return len(self._x)

    def append(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        """Add points in order; an x below the last one drops the points from that x on."""
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        if len(xs) != len(ys):
            raise ValueError(f"{len(xs)} x values but {len(ys)} y values")
        if not len(xs):
            return
        # A batch can span a rewind (resume from a checkpoint), so handle it in increasing runs.
        cuts = np.flatnonzero(np.diff(xs) < 0) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(xs)]):
            self._append_sorted(xs[a:b], ys[a:b])

    def _append_sorted(self, xs: np.ndarray, ys: np.ndarray) -> None:
        if self._n and xs[0] < self._x[self._n - 1]:
            # A resumed run logs again from its checkpoint's step: the points after it are stale
            # (the store deleted them too), so the curve never doubles back on itself.
            self._n = int(np.searchsorted(self._x[: self._n], xs[0], side="left"))
        need = self._n + len(xs)
        if need > self.capacity:
            size = self.capacity
            while size < need:
                size *= 2
            for name in ("_x", "_y"):
                grown = np.empty(size, dtype=np.float64)
                grown[: self._n] = getattr(self, name)[: self._n]
                setattr(self, name, grown)
        self._x[self._n:need] = xs
        self._y[self._n:need] = ys
        self._n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """The points so far, as views into the buffers (valid until the next append)."""
        return self._x[: self._n], self._y[: self._n]

    def last(self) -> tuple[float, float] | None:
        """The newest point, or None when empty."""
        return (float(self._x[self._n - 1]), float(self._y[self._n - 1])) if self._n else None

    def clear(self) -> None:
        """Forget all points, keeping the allocation."""
        self._n = 0


def configure(palette: QPalette) -> None:
    """Global pyqtgraph options: antialiasing, colours taken from the application palette."""
    pg.setConfigOptions(antialias=True,
                        background=palette.color(QPalette.ColorRole.Base),
                        foreground=palette.color(QPalette.ColorRole.Text))


class LivePlot(pg.PlotWidget):
    """One plot of named series (metric name → (legend label, colour)); curves are made once."""

    def __init__(self, title: str, series: Mapping[str, tuple[str, str]], *, units: str | None = None,
                 symbols: Iterable[str] = (), from_zero: bool = False,
                 y_range: tuple[float, float] | None = None, parent: object = None) -> None:
        # Byte series get MiB/GiB ticks; pyqtgraph's own SI prefixes are decimal and read '1e+09'.
        super().__init__(parent=parent, axisItems={"left": BytesAxis()} if units == "B" else None)
        self._series = dict(series)
        self._symbols = set(symbols)
        self._buffers = {name: LiveCurveBuffer() for name in self._series}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._in_legend: set[str] = set()
        self._dirty: set[str] = set()
        self._from_zero = from_zero  # rates, sizes, throughput: the y axis starts at 0
        self._y_range = y_range  # a share (accuracy) reads 0…1 whatever its points
        self._ymax: dict[str, float] = {}
        self._max_steps: int | None = None
        self._sparse = True  # 0-1 points shown: the range is ours, not autorange's
        self._follow = True  # False once the user pans or zooms, until another run is shown
        item = self.getPlotItem()
        item.setTitle(title)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "step")
        if units and units != "B":
            item.setLabel("left", units=units)
        # Long runs have 10^5+ points: draw only what is visible, reduced per pixel column.
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setMenuEnabled(False)
        # Steps (and rates, sizes) are never negative: autorange's padding must not show -1.
        item.getViewBox().setLimits(xMin=0, **({"yMin": 0} if from_zero else {}))
        # Below the x axis, not over the curves (issue 12: legends covered curves and were cut).
        self._legend = legend_below(item)
        item.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
        # Before the first point: say so in the plot, and no made-up y values on its axis.
        self._waiting = pg.TextItem(WAITING, color=WAITING_COLOR, anchor=(0.5, 0.5))
        self._waiting.setZValue(10)
        self._waiting.hide()
        item.addItem(self._waiting, ignoreBounds=True)
        self.setMinimumSize(220, 160)
        self._fit_range()

    @property
    def names(self) -> list[str]:
        """The metric names this plot shows."""
        return list(self._series)

    def set_max_steps(self, max_steps: int | None) -> None:
        """The run's length: the step axis spans it until the curves have points of their own."""
        self._max_steps = max_steps
        self._fit_range()

    def add_series(self, name: str, label: str, color: str | None = None) -> None:
        """Add a series after construction (no-op if it exists); its curve is made at its first data."""
        if name not in self._series:
            self._series[name] = (label, color or PALETTE[len(self._series) % len(PALETTE)])
            self._buffers[name] = LiveCurveBuffer()

    def has_data(self, name: str) -> bool:
        """True once a series has buffered points."""
        return name in self._buffers and len(self._buffers[name]) > 0

    def clear_series(self, name: str) -> None:
        """Empty one series and take it out of the legend (its curve object stays for reuse)."""
        if name not in self._buffers:
            return
        self._buffers[name].clear()
        self._ymax.pop(name, None)
        self._dirty.discard(name)
        if name in self._curves:
            self._curves[name].setData([], [])
        if name in self._in_legend:
            self._legend.removeItem(self._curves[name])
            self._in_legend.discard(name)

    def set_label(self, name: str, label: str) -> None:
        """Rename a series in the legend (an overlaid run renamed)."""
        if name in self._series and self._series[name][0] != label:
            self._series[name] = (label, self._series[name][1])
            if name in self._in_legend:
                self._legend.removeItem(self._curves[name])
                self._legend.addItem(self._curves[name], label)

    def append(self, name: str, xs: Iterable[float], ys: Iterable[float]) -> None:
        """Buffer new points of one series; drawn at the next flush()."""
        if name in self._buffers:
            self._buffers[name].append(xs, ys)
            self._dirty.add(name)
            if self._from_zero and len(self._buffers[name]):
                top = float(np.nanmax(np.asarray(ys, dtype=np.float64), initial=-np.inf))
                self._ymax[name] = max(self._ymax.get(name, -np.inf), top)

    def flush(self) -> None:
        """Hand changed buffers to their curves (call from a timer, not per row)."""
        # Ranges first: a curve clips its data to the view it sees, so a fixed 0…10 range still set
        # while setData runs would hide the points beyond it from autorange.
        self._fit_range()
        for name in [n for n in self._series if n in self._dirty]:  # legend in series order
            curve = self._curve(name)
            curve.setData(*self._buffers[name].view())
            self._mark_sparse(name, curve)
            if name not in self._in_legend and len(self._buffers[name]):
                self._legend.addItem(curve, self._series[name][0])
                self._in_legend.add(name)
        self._dirty.clear()
        self._fit_range()

    def reset(self) -> None:
        """Empty every series (another run was selected); the curve objects stay."""
        for name in self._buffers:
            self.clear_series(name)
        self._follow = True
        self._fit_range()  # the previous run's axes must not linger until the first point

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        fit_legend(self)

    def _on_manual_range(self, *_: object) -> None:
        self._follow = False

    def _fit_range(self) -> None:
        """0-1 points: a fixed sensible range (autorange would read -10…15 steps); more: autorange,
        the y axis from 0 for rates and sizes. A range the user chose is left alone."""
        if not self._follow:
            return
        box = self.getPlotItem().getViewBox()
        points = [(name, len(buf)) for name, buf in self._buffers.items() if len(buf)]
        total = sum(n for _, n in points)
        if self._waiting.isVisible() != (total == 0):  # only on a change: setStyle re-lays the axis out
            self._waiting.setVisible(total == 0)
            self.getPlotItem().getAxis("left").setStyle(showValues=total > 0)
        if total <= 1:
            low, high = empty_x_range(self._max_steps)
            self._waiting.setPos((low + high) / 2, 0.5)
            box.disableAutoRange()
            if total == 1:
                x, y = self._buffers[points[0][0]].last()
                high = max(high, x if self._max_steps else x * 1.1)
                box.setYRange(*(self._y_range or single_y_range(y, self._from_zero)),
                              padding=FIXED_Y_PADDING if self._y_range else 0)
            else:
                box.setYRange(*(self._y_range or (0, 1)), padding=FIXED_Y_PADDING if self._y_range else 0)
            box.setXRange(low, high, padding=0)
            self._sparse = True
            return
        if self._sparse:
            box.enableAutoRange(x=not self._max_steps, y=not self._from_zero and self._y_range is None)
            self._sparse = False
        if self._max_steps:
            # Every step plot of a run spans the same 0…max_steps, not each its own data (issue 12).
            last = max(float(buf.view()[0][-1]) for buf in self._buffers.values() if len(buf))
            box.setXRange(0, max(float(self._max_steps), last), padding=0)
        if self._y_range is not None:
            box.setYRange(*self._y_range, padding=FIXED_Y_PADDING)  # a point at 1.0 is not drawn on the frame
            return
        top = max(self._ymax.values(), default=0.0)
        if self._from_zero and np.isfinite(top):
            box.setYRange(0, top * 1.05 if top > 0 else 1.0, padding=0)

    def _mark_sparse(self, name: str, curve: pg.PlotDataItem) -> None:
        """Dots while a line series has under FEW_POINTS points: one point draws no line at all."""
        if name in self._symbols:
            return
        few = len(self._buffers[name]) < FEW_POINTS
        if few != (curve.opts.get("symbol") is not None):  # only on a change: setSymbol redraws
            color = self._series[name][1]
            curve.setSymbol("o" if few else None)
            if few:
                curve.setSymbolSize(5)
                curve.setSymbolBrush(color)
                curve.setSymbolPen(None)

    def curve(self, name: str) -> pg.PlotDataItem | None:
        """The curve of a series, once it has had data."""
        return self._curves.get(name)

    def point_count(self, name: str) -> int:
        """Points currently handed to a series' curve (0 before its first data)."""
        curve = self._curves.get(name)
        return 0 if curve is None or curve.xData is None else len(curve.xData)

    def buffer(self, name: str) -> LiveCurveBuffer:
        """The buffer behind a series."""
        return self._buffers[name]

    def _curve(self, name: str) -> pg.PlotDataItem:
        if name not in self._curves:
            color = self._series[name][1]
            kwargs = {"symbol": "o", "symbolSize": 5, "symbolBrush": color, "symbolPen": None} \
                if name in self._symbols else {}
            # A 1-pixel pen: Qt strokes wider antialiased lines point by point, which makes a noisy
            # 10^5-step loss curve take seconds to paint; 1 px takes the fast path.
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1), **kwargs)
            # Peak mode keeps each pixel column's min and max, so one bin per pixel loses no spike;
            # pyqtgraph's default of five per pixel only costs paint time.
            curve.opts["autoDownsampleFactor"] = 1.0
            self.getPlotItem().addItem(curve)  # applies the plot's downsampling and clipping
            self._curves[name] = curve
        return self._curves[name]
