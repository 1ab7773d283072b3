"""The Review step's memory: the one estimate (studio.modelinfo.memory, as on the Models page) for
the config's batch × max_length × precision on this machine, and a Measure button that trains 3 steps
on the longest rows in a `studio probe --measure` child and shows the peak beside the estimate."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.config import RunConfig
from studio.modelinfo.facts import ModelFacts
from studio.modelinfo.memory import format_memory
from studio.modelinfo.run_memory import method_defaults, resolve_device, run_estimate
from studio.ui import cli_call

MEASURE_TIMEOUT_S = 1800.0  # loading a big model and three steps on its longest rows
ERROR_STYLE = "color:#c0392b;"
COUNTING = "Memory estimate: reading the model's facts…"


def review_estimate(state: Any, cfg: RunConfig) -> dict[str, Any] | str | None:
    """The estimate for `cfg` from the probe's facts and the methods' defaults; a reason; or None
    while they are still coming."""
    if state.probe_error:
        return f"Memory estimate unavailable: {state.probe_error}"
    probe = state.probe or {}
    if "facts" not in probe or state.methods is None:
        return state.methods_error and f"Memory estimate unavailable: {state.methods_error}"
    device, precision = resolve_device(cfg.training, bool(probe.get("cuda")), bool(probe.get("bf16", True)))
    defaults = method_defaults(state.methods).get(cfg.method.name, {})
    return run_estimate(ModelFacts(**probe["facts"]), cfg, defaults, device=device, precision=precision,
                        num_labels=state.num_labels() or 2, gpus=len(state.gpus or []))


def estimate_text(est: dict[str, Any], cfg: RunConfig) -> str:
    """One line: the total and its parts, in the Models page's units (per process when there are several)."""
    if est["problem"]:
        return f"Memory estimate unavailable: {est['problem']}"
    n = est.get("processes", 1)
    shard = f"/{n}" if est.get("strategy") == "fsdp" and n > 1 else ""
    parts = (f"weights{shard} {format_memory(est['weights_bytes'])} + trainable state{shard} "
             f"{format_memory(est['trainable_state_bytes'])} + activations {format_memory(est['activation_bytes'])}")
    if est.get("parallel_bytes"):
        parts += (f" + {'gradient buckets' if est['strategy'] == 'ddp' else 'gathered blocks'} "
                  f"{format_memory(est['parallel_bytes'])}")
    if est["overhead_bytes"]:
        parts += f" + CUDA overhead {format_memory(est['overhead_bytes'])}"
    where, total = f"on {est['device'].upper()}", format_memory(est["total_bytes"])
    if n > 1:
        where = f"per {'GPU' if est['device'] == 'cuda' else 'process'}"
        total += (f" × {n} processes ({est['strategy'].upper()}) ≈ {format_memory(est['all_processes_bytes'])} "
                  "in all,")
    return (f"Memory estimate {where} ≈ {total} for a micro-batch of "
            f"{cfg.training.batch_size} × {cfg.data.max_length} tokens ({parts})")


def measured_text(result: dict[str, Any]) -> str:
    """The measurement in words: peak, estimate, ratio and what was run."""
    rows, cols = result["batch_shape"]
    ratio = f" · measured / estimate = {result['ratio']:.2f}" if result.get("ratio") is not None else ""
    # The estimate here is for the measured rows, not the line above's batch × max_length: say so.
    return (f"Measured peak {format_memory(result['measured_bytes'])} ({result['measured']}) · estimate for "
            f"these rows {format_memory(result['estimate_bytes'])}{ratio} — {result['steps']} steps on the "
            f"{len(result['rows'])} longest rows ({'packed into ' if result['packed'] else ''}{rows} × {cols} "
            f"tokens) in {result['seconds']:.0f} s")


class MemoryPanel(QWidget):
    """Estimate line, Measure button (Cancel while measuring) and the measurement's outcome."""

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._call: cli_call.CliCall | None = None
        self._measured_yaml: str | None = None
        self.estimate = QLabel(COUNTING)
        self.estimate.setWordWrap(True)
        self.estimate.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Train 3 steps on the data's longest rows in a separate process and "
                                       "show the peak memory beside the estimate (nothing is saved)")
        self.measure_button.clicked.connect(self.toggle_measure)
        self.measured = QLabel()
        self.measured.setWordWrap(True)
        self.measured.setTextFormat(Qt.TextFormat.PlainText)
        self.measured.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.estimate, 1)
        row.addWidget(self.measure_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.measured)
        state.probed.connect(self.refresh)
        state.methods_loaded.connect(self.refresh)
        state.gpus_found.connect(self.refresh)  # processes auto = every GPU found

    @property
    def measuring(self) -> bool:
        """Whether a measurement is in flight."""
        return self._call is not None and self._call.running

    def refresh(self, cfg: RunConfig | None = None, yaml_text: str | None = None) -> None:
        """Recompute the estimate for the wizard's config; forget a measurement of another config."""
        if cfg is None:
            try:
                cfg = RunConfig.from_dict(_copy(self._state.config))
            except ValueError:
                return
        if self._state.methods is None and not self._state.methods_error:
            self._state.load_methods()
        self._state.find_gpus()  # processes auto = every GPU found (Review reached without the Training step)
        if self._state.probe is None and not self._state.probe_error and not self._state.running("probe"):
            self._state.start_probe()  # the model's facts come with it (it emits probed: refresh again)
            return
        est = review_estimate(self._state, cfg)
        self.estimate.setText(COUNTING if est is None else est if isinstance(est, str) else estimate_text(est, cfg))
        self.estimate.setToolTip("\n".join(est["assumptions"]) if isinstance(est, dict) and not est["problem"]
                                 else "")
        if yaml_text is not None and self._measured_yaml not in (None, yaml_text) and not self.measuring:
            self._measured_yaml = None
            self._say("")

    def toggle_measure(self) -> None:
        """Start `studio probe CONFIG --measure --json` in a child, or cancel the one running."""
        if self.measuring:
            self._call.cancel()
            self._finish("Measuring cancelled.", error=False)
            return
        try:
            cfg = RunConfig.from_dict(_copy(self._state.config))
            path = self._state.write_temp(cfg.to_dict(), "measure")
        except (ValueError, OSError) as e:
            self._say(f"Cannot measure: {e}", error=True)
            return
        self._measured_yaml = path.read_text(encoding="utf-8")
        if self._call is not None:
            self._call.deleteLater()
        self._call = cli_call.CliCall(self._state.home, ["probe", str(path), "--measure", "--json"],
                                      timeout_s=MEASURE_TIMEOUT_S, parent=self)
        self._call.progress.connect(lambda line: self._say(f"Measuring… {line.get('stage', '')}"))
        self._call.finished.connect(self._on_measured)
        self.measure_button.setText("Cancel")
        self._say("Measuring… starting a child process")
        self._call.start()

    def _on_measured(self, result: Any, error: Any) -> None:
        if error or not isinstance(result, dict) or "measured_bytes" not in result:
            self._finish(f"Measuring failed: {error or result}", error=True)
        else:
            self._finish(measured_text(result), error=False)

    def _finish(self, text: str, error: bool) -> None:
        self.measure_button.setText("Measure")
        self._say(text, error)

    def _say(self, text: str, error: bool = False) -> None:
        self.measured.setStyleSheet(ERROR_STYLE if error else "")
        self.measured.setText(text)


def _copy(config: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(config)
