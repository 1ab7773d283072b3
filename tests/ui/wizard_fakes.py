"""A `studio` child stand-in for wizard tests: canned method list, probe counts that follow each
method's options (read from the config file the wizard wrote), and recorded calls."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, QTimer, Signal

from studio.config import load_config

OPTION = {"type": "int", "doc": "", "choices": None, "min": 1, "max": None}
METHODS = [{"name": "houlsby", "mergeable": False, "description": "adapters", "learning_rate": 1e-3,
            "options": [{"name": "size", "default": 64, **OPTION}]},
           {"name": "lora", "mergeable": True, "description": "low rank", "learning_rate": 2e-4,
            "options": [{"name": "r", "default": 8, **OPTION}]}]
DEFAULTS = {"houlsby": {"size": 64}, "lora": {"r": 8}}


def trainable(name: str, options: dict) -> int:
    """The fake count: 1000 per LoRA rank, 10 per adapter width."""
    opts = {**DEFAULTS[name], **options}
    return opts["r"] * 1000 if name == "lora" else opts["size"] * 10


class FakeCli(QObject):
    """CliCall's stand-in: answers methods and probe at once (from the event loop), records every call."""

    finished = Signal(object, object)
    progress = Signal(object)
    calls: list[list[str]] = []
    canned: dict[str, tuple] = {}

    def __init__(self, home, args, timeout_s=120.0, parent=None):
        super().__init__(parent)
        self.args, self._done = list(args), False

    def start(self):
        FakeCli.calls.append(self.args)
        QTimer.singleShot(0, self, self._answer)  # dropped with this object (a cancelled, deleted call)
        return self

    def _answer(self):
        if self._done:
            return
        self._done = True
        kind = self.args[0]
        if kind in self.canned:
            self.finished.emit(*self.canned[kind])
        elif kind == "methods":
            self.finished.emit(METHODS, None)
        elif kind == "probe":
            cfg = load_config(self.args[1])
            entries = []
            for m in METHODS:
                opts = cfg.method.options if m["name"] == cfg.method.name else {}
                n = trainable(m["name"], opts)
                entries.append({"method": m["name"], "trainable_params": n, "total_params": 10**6,
                                "trainable_percent": n / 10**4, "layer_groups": [{"name": "all", "params": n}]})
            self.finished.emit({"cuda": False, "methods": entries}, None)
        else:
            self.finished.emit(None, f"{kind}: not faked")

    def cancel(self):
        self._done = True

    @property
    def running(self):
        return not self._done


@pytest.fixture
def fake_cli(monkeypatch):
    """The wizard's child processes replaced by FakeCli (calls recorded, answers canned per test)."""
    from studio.ui import cli_call

    FakeCli.calls, FakeCli.canned = [], {}
    monkeypatch.setattr(cli_call, "CliCall", FakeCli)
    return FakeCli
