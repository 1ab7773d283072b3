"""The Compare page: adapters of one base side by side. Set up a comparison, run it (`studio compare
--json` in a child process: the base loads once, adapters swap in), read the grid, rate cells, see the
eval metrics, reopen saved comparisons from the store and export them as CSV or Markdown."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from studio.paths import Home
from studio.store import adapters, comparisons
from studio.ui import cli_call
from studio.ui.widgets.compare_grid import CompareGrid, CompareMetrics
from studio.ui.widgets.compare_saved import SavedComparisons
from studio.ui.widgets.compare_setup import CompareSetup
from studio.ui.widgets.empty_state import EmptyState
from studio.ui.widgets.error_dialog import show_error
from studio.ui.widgets.preference_export import PreferenceExportButton

RUN_TIMEOUT_S = 6 * 3600  # big models on a CPU are slow; the Stop button is the way out
NOTHING_YET = "Set up a comparison on the left and press Run, or open a saved one."
COMPARE_HINT = ("Choose the base model and one or more adapters on the left, give a few prompts (or an "
                "evaluation file) and press Run: every prompt's outputs appear side by side, differences "
                "highlighted, for you to rate. No adapters yet? Train one with New run (Ctrl+N).")


def summary_text(c: dict[str, Any]) -> str:
    """One line about a comparison: name, base, settings and how long the base took to load."""
    s = c.get("settings") or {}
    decoding = (f"sampling (temperature {s.get('temperature')}, top-p {s.get('top_p')})" if s.get("sample")
                else "greedy")
    t = (c.get("results") or {}).get("timings") or {}
    load = f" · base loaded in {t['base_load_s']:.1f} s" if t.get("base_load_s") is not None else ""
    # A classifier generates nothing: its columns hold each one's predicted label, not decoded text.
    how = ("the predicted label of each column" if c.get("task") == "classification" else
           f"{decoding}, seed {s.get('seed')}, up to {s.get('max_new_tokens')} new tokens")
    return (f"<b>#{c['id']} {c.get('name') or ''}</b><br>base {c['base_model']} ({c.get('task') or '?'}) · "
            f"{how}{load}")


def running_text(args: list[str]) -> str:
    """The right-hand side while a comparison runs: which base and columns (from its command line)."""
    base = args[args.index("--base") + 1] if "--base" in args else "?"
    columns = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--adapter"]
    names = ", ".join(Path(c).name for c in columns) or "the base alone"
    return (f"<b>Comparing…</b><br>base {base} with {names}. The outputs appear here when it is done; "
            "the progress is under Run.")


class ComparePage(QWidget):
    """Setup and saved comparisons on the left; the grid, metrics and exports on the right."""

    message = Signal(str)
    use_preferences = Signal(str, str)  # a preference JSONL just written, its base model: start a run on it

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self.call: Any = None
        self.comparison: dict[str, Any] | None = None
        self._prompts_file: str | None = None
        self._started = 0.0
        self._shown_once = False
        self._setup_given = False  # set_adapters was called: a reopened comparison leaves the form alone

        self.setup = CompareSetup()
        self.setup.changed.connect(self._update_buttons)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Generate every prompt with every column (and evaluate the eval file) in a "
                                   "separate process; the result is saved")
        self.run_button.clicked.connect(self.run)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the running comparison (nothing is saved)")
        self.stop_button.clicked.connect(self.stop)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setToolTip("The comparison is running: loading the base once, then each adapter in turn")
        self.busy.hide()
        self.status = QLabel()  # the run: running for N s, done, failed
        self.status.setWordWrap(True)
        self.hint = QLabel()  # what the setup still lacks
        self.hint.setWordWrap(True)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.stop_button)
        run_row.addWidget(self.busy, 1)
        self._clock = QTimer(self, interval=1000)
        self._clock.timeout.connect(self._tick)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.setup)
        setup_box = QWidget()  # Run stays in sight below the scrolling form
        setup_layout = QVBoxLayout(setup_box)
        setup_layout.setContentsMargins(0, 0, 0, 0)
        setup_layout.addWidget(scroll, 1)
        setup_layout.addLayout(run_row)
        setup_layout.addWidget(self.hint)
        setup_layout.addWidget(self.status)

        self.saved = SavedComparisons(db)
        self.saved.picked.connect(self.open_comparison)
        self.saved.deleted.connect(lambda cid: self.show_comparison(None) if self.comparison
                                   and self.comparison["id"] == cid else None)
        left = QSplitter(Qt.Orientation.Vertical)
        left.setObjectName("compareLeftSplitter")
        left.addWidget(setup_box)
        left.addWidget(self.saved)
        left.setStretchFactor(0, 1)
        left.setSizes([600, 140])

        self.title = QLabel(NOTHING_YET)
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # alone while running: top
        self.grid = CompareGrid()
        self.grid.rated.connect(self.rate)
        self.metrics = CompareMetrics()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Outputs")
        self.tabs.addTab(self.metrics, "Metrics")
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save the grid, ratings and metrics as a CSV file")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.md_button = QPushButton("Export Markdown…")
        self.md_button.setToolTip("Save the comparison as a Markdown report")
        self.md_button.clicked.connect(lambda: self.export("md"))
        self.preference_button = PreferenceExportButton(db)
        self.preference_button.message.connect(self.message)
        self.preference_button.use_data.connect(self.use_preferences)
        exports = QHBoxLayout()
        exports.addWidget(self.preference_button)
        exports.addStretch(1)
        exports.addWidget(self.csv_button)
        exports.addWidget(self.md_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.tabs, 1)
        # Nothing compared yet: what to do, in place of an empty grid.
        self.empty = EmptyState("compare", "Nothing compared yet", COMPARE_HINT)
        right_layout.addWidget(self.empty, 1)
        self.tabs.hide()  # until a comparison is shown (show_comparison)
        right_layout.addLayout(exports)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("compareSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)
        self._update_buttons()

    # --- store
    def refresh(self) -> None:
        """Re-read the library's adapters and the saved comparisons."""
        self.setup.set_library(adapters.list_adapters(self._db))
        self.saved.reload(self.comparison["id"] if self.comparison else None)
        ids = self.saved.ids()
        if self.comparison is None and not self._shown_once and ids:
            # First visit: the newest comparison rather than an empty grid.
            self.open_comparison(ids[0], load_setup=not self._setup_given)
            self.saved.reload(ids[0])
        self._shown_once = True
        self._update_buttons()

    def set_adapters(self, items: list[str], base: str | None = None) -> None:
        """Prepare a comparison of these adapters (names or folders) on their base (or `base`)."""
        self.setup.set_library(adapters.list_adapters(self._db))
        self.setup.set_adapters(list(items), base)
        self._setup_given = True
        self.message.emit(f"Compare: {', '.join(Path(i).name for i in items)} — add prompts and press Run")

    def set_prompts(self, prompts: list[str], base: str, items: list[str]) -> None:
        """Prepare a comparison of these prompts (e.g. a chat's turns) on `base` with these adapters checked."""
        self.setup.set_library(adapters.list_adapters(self._db))
        self.setup.set_adapters(list(items), base)
        self.setup.prompts.setPlainText("\n".join(prompts))
        self._setup_given = True
        self.message.emit(f"Compare: {len(prompts)} prompt(s) from the chat — check the columns and press Run")

    def open_comparison(self, comparison_id: int, load_setup: bool = True) -> None:
        """Show a saved comparison from the store (no child process, nothing recomputed); its settings
        fill the form, to run it again with changes."""
        try:
            c = comparisons.get_comparison(self._db, comparison_id)
        except LookupError as e:
            self.message.emit(str(e))
            return
        self.show_comparison(c)
        if load_setup and not self.running:
            self.setup.load(c)

    def show_comparison(self, c: dict[str, Any] | None) -> None:
        """Fill the grid, the metrics and the title from a comparison dict."""
        self.comparison = c
        self.grid.show_comparison(c)
        self.metrics.show_comparison(c)
        self.title.setText(summary_text(c) if c else NOTHING_YET)
        self.tabs.setVisible(c is not None)
        self.empty.setVisible(c is None)
        if c and not (c["results"].get("rows")) and c["results"].get("eval"):
            self.tabs.setCurrentWidget(self.metrics)
        elif c:
            self.tabs.setCurrentWidget(self.grid)
        self._update_buttons()

    def rate(self, row: int, column: str, rating: int | None) -> None:
        """Save a cell's rating at once and show it."""
        if self.comparison is None:
            return
        try:
            self.comparison["ratings"] = comparisons.set_rating(self._db, self.comparison["id"], row, column, rating)
        except (ValueError, LookupError) as e:
            self.message.emit(f"Rating not saved: {e}")
            return
        self.grid.set_rating(row, column, rating)
        self.preference_button.set_comparison(self.comparison)  # a new rating may make the first pair
        self.message.emit(f"Row {row + 1}, {column}: " + (f"rated {rating}" if rating else "rating cleared"))

    def export(self, fmt: str) -> str | None:
        """Save the comparison on show as CSV or Markdown (a file dialog); returns the path written."""
        if self.comparison is None:
            return None
        c = comparisons.get_comparison(self._db, self.comparison["id"])  # the latest ratings
        suffix, kind = (".csv", "CSV (*.csv)") if fmt == "csv" else (".md", "Markdown (*.md)")
        default = str(Path.home() / f"comparison-{c['id']}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, "Export comparison", default, kind)
        if not path:
            return None
        path = path if Path(path).suffix else path + suffix
        try:
            Path(path).write_text(comparisons.to_csv(c) if fmt == "csv" else comparisons.to_markdown(c),
                                  encoding="utf-8")
        except OSError as e:
            show_error(self, "Export failed", f"Could not write {path}: {e}")
            return None
        self.message.emit(f"Wrote {path}")
        return path

    # --- running
    @property
    def running(self) -> bool:
        """True while a comparison runs in a child process."""
        return self.call is not None and self.call.running

    def run(self) -> None:
        """Write the prompts to a temp file and start `studio compare --json`."""
        if self.setup.problem() or self.running:
            return
        prompts = self.setup.prompt_lines()
        self._prompts_file = None
        if prompts:
            fd, self._prompts_file = tempfile.mkstemp(prefix="studio-prompts-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(prompts) + "\n")
        args = self.setup.command(self._prompts_file)
        self.call = cli_call.CliCall(self._home, args, timeout_s=RUN_TIMEOUT_S, parent=self)
        self.call.finished.connect(self._finished)
        self._started = time.monotonic()
        self.status.setText("Running… loading the base model")
        # The previous result must not pass for this run's: clear it and say what is being computed.
        self.show_comparison(None)
        self.empty.hide()
        self.title.setText(running_text(args))
        self.busy.show()
        self._clock.start()
        self.call.start()
        self._update_buttons()

    def stop(self) -> None:
        """Kill the running comparison."""
        if self.running:
            self.call.cancel()
            self._end("Stopped.")

    def _tick(self) -> None:
        self.status.setText(f"Running… {time.monotonic() - self._started:.0f} s")

    def _end(self, text: str) -> None:
        self._clock.stop()
        self.busy.hide()
        self.status.setText(text)
        if self.comparison is None:
            self.show_comparison(None)  # stopped or failed: the empty state again, not 'Comparing…'
        if self._prompts_file:
            Path(self._prompts_file).unlink(missing_ok=True)
            self._prompts_file = None
        self._update_buttons()

    def _finished(self, result: Any, error: Any) -> None:
        if error is not None:
            self._end(f"Failed: {error}")
            show_error(self, "Comparison failed", str(error))
            return
        self._end(f"Done in {time.monotonic() - self._started:.0f} s; saved as #{result['id']}.")
        self.show_comparison(result)
        self.refresh()
        self.message.emit(f"Comparison #{result['id']} saved")

    def _update_buttons(self) -> None:
        running = self.running
        problem = self.setup.problem()
        self.run_button.setEnabled(not running and problem is None)
        self.run_button.setToolTip(problem or "Generate every prompt with every column (and evaluate the eval "
                                   "file) in a separate process; the result is saved")
        self.stop_button.setEnabled(running)
        self.hint.setText("" if running else problem or "")
        self.setup.setEnabled(not running)
        for b in (self.csv_button, self.md_button):
            b.setEnabled(self.comparison is not None)
        self.preference_button.set_comparison(self.comparison)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
