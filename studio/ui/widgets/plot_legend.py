"""Plot legends that sit in a row below the plot area, so they never cover a curve nor get cut."""
from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import pyqtgraph as pg  # noqa: E402  (binding chosen above)

LEGEND_ROW = 4  # PlotItem's grid: 0 title, 1 top axis, 2 the view, 3 bottom axis; below it is free
MIN_ENTRY_WIDTH = 60  # pixels: the narrowest an entry (sample + short label) is laid out at


class RowLegend(pg.LegendItem):
    """A LegendItem laid out by its plot's grid (not anchored over the view), entries in columns."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(offset=None, horSpacing=12, verSpacing=-4, **kwargs)
        self._width = 0.0

    def addItem(self, item: object, name: str) -> None:
        """Add an entry and re-flow the columns for it."""
        super().addItem(item, name)
        if self._width:
            self.fit_width(self._width)

    def updateSize(self) -> None:
        """The plot's grid sizes us from our own layout; pyqtgraph's version would move us to 0,0."""
        self.layout.invalidate()
        self.updateGeometry()

    def fit_width(self, width: float) -> None:
        """As many columns as entries fit across `width` pixels (all in one row when they fit)."""
        self._width = width
        if not self.items:
            return
        widest = max(max(label.item.boundingRect().width() for _, label in self.items) + 40, MIN_ENTRY_WIDTH)
        self.setColumnCount(max(1, min(len(self.items), int(width // widest))))


def legend_below(item: pg.PlotItem, **kwargs: object) -> RowLegend:
    """Give a PlotItem a legend in a row below its x axis (also item.legend, so plot(name=...) adds to it)."""
    legend = RowLegend(**kwargs)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.legend = legend
    return legend


def fit_legend(plot: pg.PlotWidget) -> None:
    """Re-flow a plot's row legend to the view's width (call after resizing or adding entries)."""
    item = plot.getPlotItem()
    legend = getattr(item, "legend", None)
    if isinstance(legend, RowLegend):
        legend.fit_width(item.getViewBox().width() or plot.width())


class LegendPlotWidget(pg.PlotWidget):
    """A PlotWidget whose legend (plot(name=...)) is a row below the x axis, re-flowed on resize."""

    def __init__(self, parent: object = None, **kwargs: object) -> None:
        super().__init__(parent=parent, **kwargs)
        self.legend = legend_below(self.getPlotItem())

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        fit_legend(self)
