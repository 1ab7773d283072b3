"""The wizard's shared state: the RunConfig-shaped dict being built, and the background answers
about it (data inspection, the method list, the parameter probe), each from a `studio` child process."""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.config import RunConfig, TrainingSpec, dump_config
from studio.core.formats import REQUIRED
from studio.core.schedules import optimizer_steps_per_epoch
from studio.paths import Home
from studio.ui import cli_call

KTO, PAIRS = "kto", "preference"  # data.format of KTO rows and of preference pairs (core/formats.py)
INSPECT_TIMEOUT_S = 300.0  # tokenizing a big file, or fetching a hub dataset, takes a while
PROBE_TIMEOUT_S = 300.0
LR_FIND_TIMEOUT_S = 3600.0  # ~100 training steps of the real model: minutes on a CPU


def unique_name(wanted: str, taken: set[str]) -> str:
    """wanted if free, else the first free of wanted-2, wanted-3, ... (as the adapter library names them)."""
    if not wanted or wanted not in taken:
        return wanted
    suffix = 2
    while f"{wanted}-{suffix}" in taken:
        suffix += 1
    return f"{wanted}-{suffix}"


def kto_file(result: dict[str, Any] | None) -> bool:
    """Whether an inspect-data answer is about a KTO file: prompt / completion / label, no pairs."""
    columns = set((result or {}).get("columns") or [])
    return (result or {}).get("format") == KTO or (set(REQUIRED[KTO]) <= columns
                                                   and not set(REQUIRED[PAIRS]) <= columns)


def initial_config() -> dict[str, Any]:
    """The config a fresh wizard starts from (RunConfig's shape; defaults filled by from_dict)."""
    return {"name": "", "task": "causal-lm", "model": "", "trust_remote_code": False,
            "data": {"train": ""}, "method": {"name": "lora"}, "training": {}}


class WizardState(QObject):
    """Config dict plus inspect / methods / probe results; signals say when each one changes."""

    inspected = Signal()  # inspection started or finished
    methods_loaded = Signal()
    probed = Signal()  # probe started or finished
    lr_found = Signal()  # learning-rate range test started, finished or found in the store
    lr_find_progress = Signal(object)  # {"stage", "fraction", "lr", "loss"} while it sweeps
    model_changed = Signal()  # another model was chosen: settings that depend on its layers start over
    renamed = Signal(str)  # Start gave the run a free name (the one entered was taken)
    gpus_found = Signal()  # the NVML lookup ended (self.gpus: [] on a CPU machine)

    def __init__(self, home: Home, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.config = initial_config()
        self.inspect: dict[str, Any] | None = None
        self.inspect_error: str | None = None
        self.methods: list[dict[str, Any]] | None = None
        self.methods_error: str | None = None
        self.probe: dict[str, Any] | None = None
        self.probe_error: str | None = None
        # Options entered per method, kept when another method is chosen and shown again on return.
        self.method_options: dict[str, dict[str, Any]] = {}
        # Probe entries per (model/task/labels/precision, method, options): each card shows the count
        # for the options that method has now, not those of an earlier probe.
        self._probe_entries: dict[tuple, dict[str, Any]] = {}
        self._probe_base: tuple | None = None  # what the probe in self.probe was run for
        self._probe_method: tuple[str, dict[str, Any]] | None = None
        self.lr_find: dict[str, Any] | None = None  # the newest range test for this config (live or stored)
        self.gpus: list[dict[str, Any]] | None = None  # modelinfo.gpus.list_gpus(); None until known
        self._gpu_task: Any = None
        self.lr_find_error: str | None = None
        self._calls: dict[str, cli_call.CliCall] = {}
        self._keys: dict[str, Any] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="studio-wizard-")
        self._written = 0

    def reset(self) -> None:
        """Forget everything entered and every answer (a fresh wizard); probe counts stay cached."""
        for call in self._calls.values():
            call.cancel()
            call.deleteLater()
        self._calls.clear()
        self._keys.clear()
        self.config = initial_config()
        self.method_options = {}
        self.inspect = self.inspect_error = self.probe = self.probe_error = None
        self.lr_find = self.lr_find_error = None
        self._probe_base = self._probe_method = None

    def taken_names(self) -> set[str]:
        """Names of the runs and adapters in the store: a new run's name must not repeat one."""
        from studio.store import open_db

        if not self.home.db_path.exists():
            return set()
        db = open_db(self.home.db_path)
        try:
            return {r["name"] for r in db.query("SELECT name FROM runs UNION SELECT name FROM adapters")}
        finally:
            db.conn.close()

    def find_gpus(self) -> None:
        """List the GPUs once, on a pool thread (NVML's first call loads the driver: not in the GUI thread)."""
        if self.gpus is None and self._gpu_task is None:
            from studio.modelinfo.gpus import list_gpus
            from studio.ui import tasks

            self._gpu_task = tasks.start(tasks.Task(list_gpus), self._on_gpus)

    def _on_gpus(self, result: Any, _error: Any, _tag: Any) -> None:
        self.gpus, self._gpu_task = result or [], None  # a failing lookup reads as no GPU, as NVML's own
        self.gpus_found.emit()

    # --- config pieces
    def write_temp(self, config: dict[str, Any], stem: str) -> Path:
        """Validate `config` and write it as YAML to a fresh temporary file (ConfigError if invalid)."""
        cfg = RunConfig.from_dict(copy.deepcopy(config))
        self._written += 1  # a fresh name per call: a running child may still be reading the last one
        path = Path(self._tmp.name) / f"{stem}-{self._written}.yaml"
        dump_config(cfg, path)
        return path

    def running(self, what: str) -> bool:
        """Whether the `what` call (inspect, methods, probe) is in flight."""
        call = self._calls.get(what)
        return call is not None and call.running

    def _start(self, what: str, args: list[str], timeout_s: float, slot: Any) -> None:
        old = self._calls.pop(what, None)
        if old is not None:
            old.cancel()
            old.deleteLater()  # one live call per kind; typing must not pile up QProcess objects
        call = cli_call.CliCall(self.home, args, timeout_s=timeout_s, parent=self)
        call.finished.connect(slot)
        self._calls[what] = call
        call.start()

    # --- data inspection
    def inspect_key(self) -> tuple:
        """What the inspection depends on: model, task, remote code and the data section."""
        c = self.config
        return (c["model"], c["task"], c.get("trust_remote_code"), repr(sorted(c["data"].items())),
                self.preference_loss())

    def start_inspect(self, force: bool = False) -> None:
        """Run `studio inspect-data` on the current data settings (unless this exact one is known)."""
        key = self.inspect_key()
        if not force and self._keys.get("inspect") == key and (self.inspect or self.running("inspect")):
            return
        self._keys["inspect"] = key
        self.inspect, self.inspect_error = None, None
        c = self.config
        loss = self.preference_loss()  # a KTO file is refused for a pair loss, as training would
        try:
            path = self.write_temp({"name": "inspect", "task": c["task"], "model": c["model"],
                                    "trust_remote_code": c.get("trust_remote_code", False), "data": c["data"]}
                                   | ({"preference": {"loss": loss}} if loss else {}), "inspect")
        except ValueError as e:  # ConfigError names the key
            self.inspect_error = str(e)
            self.inspected.emit()
            return
        self._start("inspect", ["inspect-data", str(path), "--json"], INSPECT_TIMEOUT_S, self._on_inspected)
        self.inspected.emit()

    def forget_inspection(self) -> None:
        """The data settings changed: the last answer no longer applies."""
        old = self._calls.pop("inspect", None)
        if old is not None:
            old.cancel()
            old.deleteLater()
        self._keys.pop("inspect", None)
        self.inspect, self.inspect_error = None, None
        self.inspected.emit()

    def _on_inspected(self, result: Any, error: Any) -> None:
        self.inspect = result
        self.inspect_error = error or (result or {}).get("error")
        if (self.config.get("task") == "preference" and self.inspect_error and self.preference_loss() != "kto"
                and kto_file(result)):
            # A KTO file (single answers labelled good or bad) trains with loss kto only, and the loss is
            # chosen on a later step: choose it here rather than leave the Data step stuck on the error.
            self.config["preference"] = {**(self.config.get("preference") or {}), "loss": "kto"}
            self.start_inspect(force=True)
            return
        self.inspected.emit()

    def preference_loss(self) -> str | None:
        """The preference loss entered (task preference), which the data is checked against."""
        if self.config.get("task") != "preference":
            return None
        return (self.config.get("preference") or {}).get("loss")

    # --- methods and probe
    def load_methods(self) -> None:
        """Ask `studio methods --json` once."""
        if self.methods is None and not self.running("methods"):
            self._start("methods", ["methods", "--json"], 120.0, self._on_methods)

    def _on_methods(self, result: Any, error: Any) -> None:
        self.methods, self.methods_error = result, error
        self.methods_loaded.emit()

    def method_info(self, name: str) -> dict[str, Any] | None:
        """One method's entry from `studio methods --json`."""
        return next((m for m in self.methods or [] if m["name"] == name), None)

    def num_labels(self) -> int:
        """Labels found by the inspection (0 for causal-lm or before it is known)."""
        return len((self.inspect or {}).get("label_names") or [])

    def options_of(self, name: str) -> dict[str, Any]:
        """The non-default options of a method: the chosen one's from the config, others as last entered."""
        method = self.config["method"]
        if method.get("name") == name:
            return {k: v for k, v in method.items() if k != "name"}
        return dict(self.method_options.get(name, {}))

    def set_method(self, name: str, options: dict[str, Any]) -> None:
        """Choose a method with these non-default options (remembered for when it is chosen again)."""
        self.method_options[name] = dict(options)
        self.config["method"] = {"name": name, **options}

    def probe_base(self) -> tuple:
        """What every method's count depends on apart from its own options."""
        c = self.config
        return (c["model"], c["task"], c.get("trust_remote_code"), self.num_labels(),
                c.get("training", {}).get("precision"))

    def _entry_key(self, name: str, options: dict[str, Any]) -> tuple:
        return (self.probe_base(), name, repr(sorted(options.items())))

    def probe_key(self) -> tuple:
        """What the probe depends on; the chosen method matters only through its non-default options."""
        c, method = self.config, dict(self.config["method"])
        name = method.pop("name", "lora")
        return (c["model"], c["task"], c.get("trust_remote_code"), self.num_labels(),
                (name, repr(sorted(method.items()))) if method else None,
                c.get("training", {}).get("precision"))

    def start_probe(self) -> None:
        """Run `studio probe --all-methods` in the background unless the same probe is known."""
        key = self.probe_key()
        if self._keys.get("probe") == key and (self.probe or self.running("probe")):
            return
        name = self.config["method"].get("name", "lora")
        if (self.probe and self._probe_base == self.probe_base() and not self.running("probe")
                and self._entry_key(name, self.options_of(name)) in self._probe_entries):
            self._keys["probe"] = key  # counted before (a method chosen again): no new child process
            self.probed.emit()
            return
        self._keys["probe"] = key
        self._probe_base, self._probe_method = self.probe_base(), (name, self.options_of(name))
        self.probe, self.probe_error = None, None
        c = self.config
        try:
            path = self.write_temp({k: c[k] for k in ("task", "model", "trust_remote_code", "data", "method")}
                                   | {"name": "probe", "training": {"precision": c["training"].get("precision",
                                                                                                    "auto")}},
                                   "probe")
        except ValueError as e:
            self.probe_error = str(e)
            self.probed.emit()
            return
        args = ["probe", str(path), "--all-methods", "--num-labels", str(self.num_labels()), "--json"]
        self._start("probe", args, PROBE_TIMEOUT_S, self._on_probed)
        self.probed.emit()

    def _on_probed(self, result: Any, error: Any) -> None:
        self.probe, self.probe_error = result, error
        chosen, options = self._probe_method or ("", {})
        for entry in (result or {}).get("methods", []):
            used = options if entry["method"] == chosen else {}  # probe_all: the others at their defaults
            self._probe_entries[(self._probe_base, entry["method"], repr(sorted(used.items())))] = entry
        self.probed.emit()

    def probe_of(self, name: str) -> dict[str, Any] | None:
        """The probe entry of one method for the options it has now ({"error"} when the model cannot
        take it); a method whose kept options were never counted gets its default count, marked so."""
        options = self.options_of(name)
        base_ok = self._probe_base in (None, self.probe_base())
        raw = next((m for m in (self.probe or {}).get("methods", []) if m["method"] == name), None)
        chosen, probed_options = self._probe_method or ("", {})
        if raw is not None and base_ok and (probed_options if name == chosen else {}) == options:
            return raw
        entry = self._probe_entries.get(self._entry_key(name, options))
        if entry is not None:
            return entry
        if raw is None or not base_ok or name == self.config["method"].get("name"):
            return None  # the chosen method's own count is on its way (the step re-probes)
        return raw if "error" in raw else {**raw, "default_options": True}

    # --- learning-rate range test (`studio lr-find`, core/lr_find.py)
    def lr_find_config(self) -> dict[str, Any]:
        """The config the range test sweeps: the wizard's, with a name if none is typed yet."""
        return {**copy.deepcopy(self.config), "name": self.config.get("name") or "lr-find"}

    def start_lr_find(self) -> None:
        """Run `studio lr-find --json` on the current config in a child process."""
        self.lr_find, self.lr_find_error = None, None
        try:
            path = self.write_temp(self.lr_find_config(), "lr-find")
        except ValueError as e:
            self.lr_find_error = str(e)
            self.lr_found.emit()
            return
        self._start("lr-find", ["lr-find", str(path), "--json"], LR_FIND_TIMEOUT_S, self._on_lr_found)
        self._calls["lr-find"].progress.connect(self.lr_find_progress)
        self.lr_found.emit()

    def cancel_lr_find(self) -> None:
        """Stop a running range test (its child process is killed; nothing is stored)."""
        call = self._calls.pop("lr-find", None)
        if call is not None:
            call.cancel()
            call.deleteLater()
        self.lr_found.emit()

    def _on_lr_found(self, result: Any, error: Any) -> None:
        self.lr_find, self.lr_find_error = result, error
        self.lr_found.emit()

    def lr_find_key(self) -> str | None:
        """The hash a range test of this config is stored under (None while the config is invalid)."""
        from studio.core.lr_range import config_hash

        try:
            return config_hash(RunConfig.from_dict(self.lr_find_config()).to_dict())
        except ValueError:
            return None

    def stored_lr_find(self) -> dict[str, Any] | None:
        """The last stored range test for this config (same model, data, method, batch...), if any."""
        from studio.store import open_db
        from studio.store.lr_finds import latest_lr_find

        key = self.lr_find_key()
        if key is None or not self.home.db_path.exists():
            return None
        db = open_db(self.home.db_path)
        try:
            row = latest_lr_find(db, key)
        finally:
            db.conn.close()
        return row["result"] if row else None

    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch from the inspected training rows and the batch settings."""
        n = ((self.inspect or {}).get("counts") or {}).get("train")
        if not n:
            return None
        t = self.config.get("training", {})
        return optimizer_steps_per_epoch(n, t.get("batch_size") or TrainingSpec.batch_size,
                                         t.get("gradient_accumulation") or TrainingSpec.gradient_accumulation)
