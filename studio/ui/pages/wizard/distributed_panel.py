"""The Training step's processes box (training.distributed): the GPUs NVML found, how many processes
train the run (one per GPU through torchrun; CPU processes with gloo to try it on a machine without
one), DDP or FSDP, and the effective batch that follows, updated as the batch fields change."""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from studio.modelinfo.gpus import describe
from studio.distributed_config import DistributedSpec, resolve_processes
from studio.modelinfo.sharded_memory import effective_batch

TITLE = "Processes (several GPUs through torchrun)"
LOOKING = "Looking for GPUs…"
MAX_CPU_PROCESSES = 4  # gloo on a CPU machine is for trying the distributed path, not for speed
FSDP_CPU_REASON = "FSDP shards the model across GPUs; on the CPU it is refused (use DDP)"
STRATEGY_LABELS = {"ddp": "DDP: a full copy of the model per process",
                   "fsdp": "FSDP: parameters, gradients and optimizer state sharded"}
ONE_PROCESS_TIP = "One process: nothing is shared or sharded"


def processes_choices(gpus: int, cpus: int, cpu_only: bool = False) -> list[tuple[str, Any]]:
    """(label, value) of the processes list: 1…GPUs and auto; on a CPU machine (or for device cpu) 1 and
    a few CPU processes."""
    auto = [(f"auto (every GPU: {gpus})" if gpus else "auto (every GPU: none here, so 1)", "auto")]
    if gpus and not cpu_only:
        return [(f"{n} {'GPU' if n == 1 else 'GPUs'}", n) for n in range(1, gpus + 1)] + auto
    extra = max(2, min(cpus, MAX_CPU_PROCESSES))
    return [("1", 1)] + [(f"{n} CPU processes (gloo, to try it)", n) for n in range(2, extra + 1)] + auto


def distributed_text(section: dict[str, Any] | None, batch: int, accumulation: int, gpus: int) -> str:
    """'2 processes (DDP) · effective batch 8 × 1 × 2 = 16' for the Review step and the Training step."""
    section = section or {}
    n = resolve_processes(DistributedSpec(processes=section.get("processes", 1)), gpus)
    how = "1 process" if n == 1 else f"{n} processes ({str(section.get('strategy') or 'ddp').upper()})"
    return f"{how} · effective batch {effective_text(batch, accumulation, n)}"


def effective_text(batch: int, accumulation: int, processes: int) -> str:
    """'8 × 2 × 4 = 64 examples per optimizer step' (micro-batch × accumulation × processes)."""
    total = effective_batch(batch, accumulation, processes)
    return f"{batch} × {accumulation} × {processes} = {total} examples per optimizer step"


class DistributedPanel(QGroupBox):
    """GPUs found, processes and strategy choices; `values()` is the config's training.distributed."""

    changed = Signal()

    def __init__(self, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(TITLE, parent)
        self._state = state
        self._kept: dict[str, Any] = {}  # keys of a loaded config this box does not edit (stall_timeout_s)
        self._batch = (1, 1)
        self._cpu_only = False  # training.device: cpu trains in CPU processes whatever GPUs there are
        self.setToolTip("More than one process: the worker starts the run with torchrun, one process per "
                        "GPU; only rank 0 records metrics, checkpoints and the adapter")
        self.gpus_label = QLabel(LOOKING)
        self.gpus_label.setWordWrap(True)
        self.gpus_label.setTextFormat(Qt.TextFormat.PlainText)
        self.processes = QComboBox()
        self.processes.setToolTip("Processes training the run, one per GPU (auto: every GPU CUDA can see)")
        self.strategy = QComboBox()
        for value, label in STRATEGY_LABELS.items():
            self.strategy.addItem(label, value)
        self.strategy.setToolTip("DDP: every process holds the whole model. FSDP: each holds a shard, for "
                                 "models that do not fit one GPU")
        self.effective = QLabel()
        self.effective.setWordWrap(True)
        self.effective.setToolTip("Examples per optimizer step: micro-batch × gradient accumulation × processes")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setStyleSheet("color:#b9770e;")
        self.note.hide()
        form = QFormLayout(self)
        form.addRow("GPUs found", self.gpus_label)
        form.addRow("processes", self.processes)
        form.addRow("strategy", self.strategy)
        form.addRow("effective batch", self.effective)
        form.addRow(self.note)
        self._fill_processes()
        self.processes.currentIndexChanged.connect(self._on_change)
        self.strategy.currentIndexChanged.connect(self._on_change)
        state.gpus_found.connect(self._on_gpus)
        self._update()

    def gpu_count(self) -> int:
        """GPUs found (0 on a CPU machine or while still looking)."""
        return len(self._state.gpus or [])

    def _on_gpus(self) -> None:
        chosen = self.processes.currentData()
        self._fill_processes(chosen)
        self._update()
        self.changed.emit()

    def _fill_processes(self, chosen: Any = 1) -> None:
        self.processes.blockSignals(True)
        self.processes.clear()
        for label, value in processes_choices(self.gpu_count(), os.cpu_count() or 1, self._cpu_only):
            self.processes.addItem(label, value)
        self.processes.blockSignals(False)
        self._choose(chosen)

    def _choose(self, value: Any) -> None:
        """Select `value`; a count the list lacks (a config from a bigger machine) is added, marked."""
        if self.processes.findData(value) < 0:
            self.processes.addItem(f"{value} (more than this machine has)", value)
        self.processes.setCurrentIndex(self.processes.findData(value))

    def _on_change(self) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        gpus = self.gpu_count()
        found = LOOKING if self._state.gpus is None else describe(self._state.gpus or [])
        self.gpus_label.setText(found + (" (device cpu: the run trains in CPU processes)"
                                         if self._cpu_only and gpus else ""))
        # FSDP is GPU-only (accelerate would quietly fall back to DDP on the CPU, and the run refuses it).
        fsdp = self.strategy.model().item(self.strategy.findData("fsdp"))
        on_gpus = gpus > 0 and not self._cpu_only
        fsdp.setEnabled(on_gpus)
        fsdp.setToolTip("" if on_gpus else FSDP_CPU_REASON)
        n = self.process_count()
        self.strategy.setEnabled(n > 1)
        self.strategy.setToolTip(ONE_PROCESS_TIP if n == 1 else STRATEGY_LABELS[self.strategy.currentData()])
        problem = FSDP_CPU_REASON if (self.strategy.currentData() == "fsdp" and not on_gpus
                                      and (self._state.gpus is not None or self._cpu_only)) else ""
        self.note.setText(problem)
        self.note.setVisible(bool(problem))
        self.effective.setText(effective_text(*self._batch, n))

    def set_training(self, batch: int, accumulation: int, device: str | None) -> None:
        """The micro-batch, accumulation and device entered; the effective batch and choices follow."""
        cpu_only = device == "cpu"
        if cpu_only != self._cpu_only:
            self._cpu_only = cpu_only
            self._fill_processes(self.processes.currentData())
        self._batch = (batch, accumulation)
        self._update()

    def process_count(self) -> int:
        """How many processes the chosen setting means on this machine."""
        return resolve_processes(DistributedSpec(processes=self.processes.currentData()), self.gpu_count())

    def values(self) -> dict[str, Any]:
        """The config's training.distributed mapping."""
        return {**self._kept, "processes": self.processes.currentData(), "strategy": self.strategy.currentData()}

    def set_values(self, section: dict[str, Any] | None) -> None:
        """Show a config's training.distributed (absent keys at their defaults)."""
        section = dict(section or {})
        self.processes.blockSignals(True)
        self.strategy.blockSignals(True)
        self._choose(section.pop("processes", 1))
        self.strategy.setCurrentIndex(max(0, self.strategy.findData(section.pop("strategy", "ddp"))))
        self.processes.blockSignals(False)
        self.strategy.blockSignals(False)
        self._kept = section
        self._on_change()
