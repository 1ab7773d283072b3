"""Axes and view ranges for plots of training metrics: byte ticks in MiB/GiB, sensible empty ranges."""
from __future__ import annotations

import math
import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import pyqtgraph as pg  # noqa: E402  (binding chosen above)

BINARY_UNITS = (("TiB", 2.0 ** 40), ("GiB", 2.0 ** 30), ("MiB", 2.0 ** 20), ("KiB", 2.0 ** 10), ("B", 1.0))
EMPTY_STEPS = 10  # the x range of a plot with no points when the run's length is unknown


def binary_unit(largest: float) -> tuple[str, float]:
    """('GiB', 2**30) etc.: the largest binary unit that keeps `largest` at 1 or more."""
    for name, size in BINARY_UNITS:
        if abs(largest) >= size:
            return name, size
    return "B", 1.0


class BytesAxis(pg.AxisItem):
    """Byte values ticked in round MiB/GiB (pyqtgraph's SI prefixes give decimal MB and long labels).

    `binary` False turns it back into a plain axis (the overlay plot shows any metric on it)."""

    def __init__(self, orientation: str = "left", **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.binary = True
        self.enableAutoSIPrefix(False)

    def _unit(self) -> tuple[str, float]:
        low, high = self.range
        return binary_unit(max(abs(low), abs(high)))

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        """Round spacings in the chosen unit (e.g. every 128 MiB), not in bytes."""
        if not self.binary:
            return super().tickSpacing(minVal, maxVal, size)
        _, unit = self._unit()
        return [(spacing * unit, offset * unit)
                for spacing, offset in super().tickSpacing(minVal / unit, maxVal / unit, size)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        """'1.5 GiB', '640 MiB': short labels with their unit."""
        if not self.binary:
            return super().tickStrings(values, scale, spacing)
        name, unit = self._unit()
        digits = max(0, -math.floor(math.log10(spacing / unit))) if spacing > 0 else 0
        return [f"{v / unit:.{min(digits, 3)}f} {name}" for v in values]


def empty_x_range(max_steps: int | None) -> tuple[float, float]:
    """The step axis before any point: the whole run when its length is known, else 0…10."""
    return 0.0, float(max_steps) if max_steps and max_steps > 0 else float(EMPTY_STEPS)


def single_y_range(y: float, from_zero: bool) -> tuple[float, float]:
    """A y range around one value: 0…y plus a margin for rates and sizes, y ± 10 % otherwise."""
    if not math.isfinite(y):
        return 0.0, 1.0
    if from_zero:
        return 0.0, y * 1.15 if y > 0 else 1.0
    margin = abs(y) * 0.1 or 1.0
    return y - margin, y + margin
