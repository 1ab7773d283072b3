"""GUI benchmarks: how fast the window is up, and how fast a plot with 10^6 points redraws.

1. Time to interactive: `python -m studio gui` (a fresh data home) against a bare PySide6 + pyqtgraph
   window (a QMainWindow holding one PlotWidget). Each process prints a timestamp from a zero-delay
   QTimer started right after show(), so the window is up and the event loop idle, then quits; the
   time counts from just before the process is started. Runs alternate (A,B then B,A, ...) after one
   untimed warm-up of each. Reported: the median of time(studio) / time(bare) (goal <= 1.5).
2. One plot update with 10^6 points: the studio's LivePlot (the Runs page's curves: peak downsampling,
   clip to view, the app's theme) shown at its size in the window. A timed update appends a few points
   to a 10^6-point series and hands the buffer to the curve (LivePlot.flush: setData), then runs the
   event loop until the plot has painted once. Reported: the median over --updates updates
   (goal <= 16 ms), with pyqtgraph's antialiasing on (as the app draws) and, for information, off.

Ratios are what section 1 reports, as in the other benchmarks; the plot update is an absolute time
because its goal is one frame at 60 Hz. Nothing here is asserted. Run `python bench/gui.py --help`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `studio` from this checkout

READY = "studio-ready"
BARE_WINDOW = f"""
import os, sys, time
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(pg.PlotWidget())
window.resize(1280, 820)
window.show()
def ready():
    print("{READY}", f"{{time.time():.6f}}", flush=True)
    app.quit()
QTimer.singleShot(0, ready)
sys.exit(app.exec())
"""


def time_to_ready(cmd: list[str], env: dict[str, str], timeout: float) -> float:
    """Seconds from starting cmd to the READY line it prints (the process is then waited for)."""
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith(READY + " "):
            if proc.returncode != 0:
                break
            return float(line.split()[1]) - start
    raise RuntimeError(f"{' '.join(cmd[:4])}… printed no ready line (exit {proc.returncode}):\n"
                       f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def interactive_times(args: argparse.Namespace, work: Path) -> list[tuple[float, float]]:
    """(studio s, bare s) pairs, run alternately after a warm-up of each."""
    from studio.paths import Home
    from studio.store import open_db

    home = Home(work / "home").ensure()
    open_db(home.db_path).conn.close()  # an existing home: the schema is in place, as on any later start
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform, PYTHONPATH=str(ROOT), STUDIO_REPORT_READY="quit",
               STUDIO_SETTINGS=str(work / "settings.ini"), STUDIO_HOME=str(home.root))
    studio = [sys.executable, "-m", "studio", "gui"]
    bare = [sys.executable, "-c", BARE_WINDOW]
    time_to_ready(studio, env, args.timeout)  # warm-up: file caches, .pyc files
    time_to_ready(bare, env, args.timeout)
    pairs = []
    for i in range(args.repeats):
        if i % 2 == 0:
            a = time_to_ready(studio, env, args.timeout)
            b = time_to_ready(bare, env, args.timeout)
        else:
            b = time_to_ready(bare, env, args.timeout)
            a = time_to_ready(studio, env, args.timeout)
        pairs.append((a, b))
        print(f"interactive {i:>3}  studio {1000 * a:7.0f} ms  bare {1000 * b:7.0f} ms  ratio {a / b:6.3f}")
    return pairs


def plot_update_ms(points: int, updates: int, antialias: bool) -> list[float]:
    """Milliseconds per update of a shown LivePlot holding `points` points (setData through its paint)."""
    import numpy as np
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from studio.ui import theme
    from studio.ui.widgets.live_plot import LivePlot, pg

    class PaintCount(QObject):
        count = 0

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            self.count += event.type() == QEvent.Type.Paint
            return False

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, "light")  # the app's plot options (antialias on, palette colours)
    pg.setConfigOptions(antialias=antialias)
    plot = LivePlot("Loss", {"train_loss": ("train loss", "#1f77b4")})
    plot.resize(640, 420)  # about one of the Runs page's plots in a 1280-wide window
    plot.show()
    painted = PaintCount()
    plot.viewport().installEventFilter(painted)
    rng = np.random.default_rng(0)
    steps = np.arange(points + 10 * updates, dtype=np.float64)
    loss = 2.0 / np.sqrt(1 + steps / 100) + 0.05 * rng.standard_normal(len(steps))
    plot.append("train_loss", steps[:points], loss[:points])
    plot.flush()
    plot.viewport().repaint()
    app.processEvents()
    times = []
    for k in range(updates):
        lo, before = points + 10 * k, painted.count
        start = time.perf_counter()
        plot.append("train_loss", steps[lo:lo + 10], loss[lo:lo + 10])
        plot.flush()
        # The update's own way to the screen: the scene notices, the view schedules a paint, Qt runs it.
        while painted.count == before:
            app.processEvents()
            if time.perf_counter() - start > 30:
                raise RuntimeError("the plot did not repaint within 30 s of an update")
        times.append(1000 * (time.perf_counter() - start))
    if plot.point_count("train_loss") != points + 10 * updates:
        raise RuntimeError("the plot did not get every point")
    plot.close()
    plot.deleteLater()
    app.processEvents()
    return times


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="pairs of window starts; the median ratio is reported")
    p.add_argument("--points", type=int, default=1_000_000, help="points in the plotted series")
    p.add_argument("--updates", type=int, default=30, help="timed plot updates; the median is reported")
    p.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   help="Qt platform plugin (offscreen needs no display; xcb draws real windows, e.g. under Xvfb)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds one window start may take")
    p.add_argument("--only", choices=("interactive", "plot"), help="run one section only")
    p.add_argument("--check", action="store_true", help="exit 1 when a figure misses its goal")
    args = p.parse_args(argv)
    for name in ("repeats", "points", "updates"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", args.platform)  # before Qt loads in this process
    print(f"platform: {args.platform}, repeats: {args.repeats}, points: {args.points:,}, "
          f"updates: {args.updates}, python {sys.version.split()[0]}, cores: {os.cpu_count()}")
    lines, ok = [], True
    work = Path(tempfile.mkdtemp(prefix="studio-gui-bench-"))
    try:
        if args.only in (None, "interactive"):
            pairs = interactive_times(args, work)
            ratio = statistics.median(a / b for a, b in pairs)
            ok &= ratio <= 1.5
            studio_ms = 1000 * statistics.median(a for a, _ in pairs)
            bare_ms = 1000 * statistics.median(b for _, b in pairs)
            lines.append(f"note: median time to interactive: studio {studio_ms:.0f} ms, "
                         f"bare PySide6+pyqtgraph window {bare_ms:.0f} ms")
            lines.append(f"time-to-interactive ratio studio/bare: {ratio:.3f} (goal <= 1.5)")
        if args.only in (None, "plot"):
            off = statistics.median(plot_update_ms(args.points, args.updates, antialias=False))
            times = plot_update_ms(args.points, args.updates, antialias=True)
            on = statistics.median(times)
            ok &= on <= 16
            lines.append(f"note: the same update without antialiasing: {off:.1f} ms; with it, slowest "
                         f"{max(times):.1f} ms")
            lines.append(f"plot update with {args.points:,} points: {on:.1f} ms (goal <= 16 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
