"""Several runs side by side: one metric of every selected run on one plot, and their config diff."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from studio.ui.widgets.config_diff import ConfigDiffTable
from studio.ui.widgets.live_plot import LiveCurveBuffer, LivePlot
from studio.ui.widgets.metric_feed import MetricFeed
from studio.ui.widgets.preference_plots import PREFERENCE_METRICS

# Offered first, in this order, when the runs logged them; any other metric follows by name.
PREFERRED = ("train_loss", "eval_loss", "eval_accuracy", *PREFERENCE_METRICS, "lr", "tokens_per_s", "grad_norm",
             "epoch", "cuda_peak_bytes", "cuda_allocated_bytes", "cuda_reserved_bytes", "rss_bytes")


def series_key(run_id: int) -> str:
    """The overlay plot's series name for a run."""
    return f"run/{run_id}"


def run_label(run: dict[str, Any]) -> str:
    """A run's legend entry and column title."""
    return f"#{run['id']} {run.get('name') or ''}".strip()


def _order(name: str) -> tuple[int, str]:
    return (PREFERRED.index(name) if name in PREFERRED else len(PREFERRED), name)


class RunOverlay(QWidget):
    """show_runs() with the selected runs (at ~1 Hz), poll_metrics() from the plot timer (~10 Hz)."""

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._runs: list[dict[str, Any]] = []
        self._feeds: dict[int, MetricFeed] = {}
        # Every metric of every shown run is kept, so switching metric redraws without a re-read.
        self._cache: dict[int, dict[str, LiveCurveBuffer]] = {}
        self._metric = "train_loss"

        self.metric_box = QComboBox()
        self.metric_box.setToolTip("The metric to compare across the selected runs")
        self.metric_box.setMinimumContentsLength(18)
        self.metric_box.currentIndexChanged.connect(self._on_metric)
        self.title = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("Metric:"))
        top.addWidget(self.metric_box)

        self.plot = LivePlot(self._metric, {}, units="B")  # a byte axis, off unless the metric is bytes
        self.plot.getPlotItem().getAxis("left").binary = False
        self.plot.setToolTip("The chosen metric of every selected run, by step")
        self.diff_label = QLabel()
        self.diff = ConfigDiffTable()
        diff_box = QWidget()
        diff_layout = QVBoxLayout(diff_box)
        diff_layout.setContentsMargins(0, 0, 0, 0)
        diff_layout.addWidget(self.diff_label)
        diff_layout.addWidget(self.diff, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plot)
        split.addWidget(diff_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    @property
    def metric(self) -> str:
        """The metric being compared."""
        return self._metric

    @property
    def run_ids(self) -> list[int]:
        """The runs shown, in the order given."""
        return [r["id"] for r in self._runs]

    def set_metric(self, name: str) -> None:
        """Compare another metric (offered in the box once a shown run has logged it)."""
        index = self.metric_box.findData(name)
        if index >= 0:
            self.metric_box.setCurrentIndex(index)
        else:
            self._metric = name
            self._redraw()

    def show_runs(self, runs: list[dict[str, Any]]) -> None:
        """Show these runs (the ones already shown keep their curves and feeds)."""
        ids = {r["id"] for r in runs}
        for run_id in [i for i in self._feeds if i not in ids]:
            self._feeds.pop(run_id).deleteLater()
            self._cache.pop(run_id)
            self.plot.clear_series(series_key(run_id))
        for run in runs:
            if run["id"] not in self._feeds:
                self._feeds[run["id"]] = feed = MetricFeed(self._db, run["id"], self)
                feed.ready.connect(self.poll_metrics)
                self._cache[run["id"]] = {}
            self.plot.add_series(series_key(run["id"]), run_label(run))  # no-op once added
            self.plot.set_label(series_key(run["id"]), run_label(run))
        self._runs = list(runs)
        self.plot.set_max_steps(max((r.get("max_steps") or 0 for r in runs), default=0) or None)
        self.title.setText(f"{len(runs)} runs selected" if runs else "")
        self.diff.set_runs(runs)
        n = self.diff.rowCount()
        self.diff_label.setText("Their configs are the same." if n == 0 else
                                f"{n} config setting{'s' if n != 1 else ''} differ:")
        self.poll_metrics()

    def poll_metrics(self) -> int:
        """Read each run's new rows; the chosen metric's go to the plot. Returns points read."""
        count = 0
        for run_id, feed in self._feeds.items():
            batch = feed.poll()
            for name, (xs, ys) in batch.series.items():
                self._cache[run_id].setdefault(name, LiveCurveBuffer()).append(xs, ys)
                if name == self._metric:
                    self.plot.append(series_key(run_id), xs, ys)
                count += len(xs)
            self._offer(batch.series)
        self.plot.flush()
        return count

    def curve_count(self) -> int:
        """Runs with a visible curve of the chosen metric."""
        return sum(self.plot.point_count(series_key(i)) > 0 for i in self._feeds)

    def _offer(self, names: Any) -> None:
        """Add newly seen metric names to the box, in PREFERRED order, keeping the choice."""
        box = self.metric_box
        new = [n for n in sorted(names, key=_order) if box.findData(n) < 0]
        if not new:
            return
        box.blockSignals(True)  # inserting moves indices, not the chosen metric
        for name in new:
            at = next((i for i in range(box.count()) if _order(box.itemData(i)) > _order(name)), box.count())
            box.insertItem(at, name, name)
        box.setCurrentIndex(box.findData(self._metric))
        box.blockSignals(False)
        if box.currentIndex() < 0:
            box.setCurrentIndex(0)  # none of the runs logs the chosen metric: show the first one

    def _on_metric(self, index: int) -> None:
        name = self.metric_box.itemData(index)
        if name and name != self._metric:
            self._metric = name
            self._redraw()

    def _redraw(self) -> None:
        """Show the chosen metric from the cache: same curve objects, new data."""
        self.plot.reset()
        item = self.plot.getPlotItem()
        item.setTitle(self._metric)
        axis = item.getAxis("left")
        axis.binary = self._metric.endswith("_bytes")  # MiB/GiB ticks for memory, plain numbers else
        axis.picture = None  # re-tick now, not at the next range change
        axis.update()
        for run_id, cache in self._cache.items():
            buf = cache.get(self._metric)
            if buf is not None and len(buf):
                self.plot.append(series_key(run_id), *buf.view())
        self.plot.flush()
