"""Pure helpers for progress text: step rate, ETA, durations, sizes (no Qt, testable alone)."""
from __future__ import annotations

from collections import deque


class StepRate:
    """Steps per second over a recent window of (wall time, step) samples."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()
        self._since: float | None = None

    def start_at(self, wall_time: float | None) -> None:
        """Only samples from wall_time on count: the current worker started then (a resume).

        Steps before a pause or crash were taken at another pace, and the gap between the two
        (the pause itself, the model loading again) is no part of the current rate."""
        if wall_time is None or wall_time == self._since:
            return
        self._since = wall_time
        while self._samples and self._samples[0][0] < wall_time:
            self._samples.popleft()

    def add(self, wall_time: float, step: int) -> None:
        """Record that the run was at `step` at `wall_time`."""
        if self._since is not None and wall_time < self._since:
            return
        if self._samples and step < self._samples[-1][1]:
            self._samples.clear()  # resumed from an earlier checkpoint: old pace no longer applies
        if self._samples and self._samples[-1] == (wall_time, step):
            return
        self._samples.append((wall_time, step))
        # Keep one sample older than the window so the rate spans the whole window.
        while len(self._samples) > 2 and self._samples[1][0] < wall_time - self.window_s:
            self._samples.popleft()

    def clear(self) -> None:
        """Forget all samples (another run was selected)."""
        self._samples.clear()
        self._since = None

    def rate(self) -> float | None:
        """Steps per second, or None until two samples span some time and steps."""
        if len(self._samples) < 2:
            return None
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or s1 <= s0:
            return None
        return (s1 - s0) / (t1 - t0)

    def eta(self, step: int, max_steps: int | None) -> float | None:
        """Seconds left to reach max_steps at the recent rate, or None when unknown."""
        rate = self.rate()
        if not rate or not max_steps:
            return None
        return max(0.0, (max_steps - step) / rate)


def format_duration(seconds: float | None) -> str:
    """'45 s', '3 min 20 s', '2 h 05 min'; an em dash when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def format_bytes(n: float | None) -> str:
    """Decimal units, as file managers show sizes: '512 B', '3.4 MB', '1.20 GB'."""
    if n is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}" if unit == "GB" else f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def format_count(n: int | None) -> str:
    """Parameter counts: '1.23 M', '7.24 B', '950 K'."""
    if n is None:
        return "—"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_metric(value: float | None) -> str:
    """A loss or accuracy for a table cell."""
    if value is None:
        return ""
    # Four significant digits, trailing zeros kept: a loss of exactly 1 reads 1.000, not 1.
    return f"{value:#.4g}".rstrip(".")
