"""What differs between runs' configs: flattened keys (training.learning_rate) as rows, runs as columns."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

MISSING = "—"  # the key is absent from that run's config


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts → {'training.learning_rate': 2e-4, ...}; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def differing_keys(configs: list[Mapping[str, Any]]) -> list[str]:
    """Flattened keys whose values are not the same in every config (absent counts as a value)."""
    flat = [flatten(c) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    marker = object()
    return [k for k in keys if len({_key(f.get(k, marker)) for f in flat}) > 1]


def _key(value: Any) -> str:
    """A comparable form of any config value (lists and dicts are not hashable)."""
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:  # not JSON (the 'absent' marker): compare by identity
        return repr(value)


def cell_text(value: Any) -> str:
    """How a config value reads in the table."""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "null" if value is None else str(value)


class ConfigDiffTable(QTableWidget):
    """Rows = config keys that differ between the runs given to set_runs(), columns = the runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setToolTip("Config settings that differ between the selected runs")
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._shown: tuple = ()

    def set_runs(self, runs: list[dict[str, Any]]) -> None:
        """Show the differences between these runs' configs (redrawn only when they change)."""
        shown = tuple((r["id"], r.get("name"), _key(r.get("config") or {})) for r in runs)
        if shown == self._shown:
            return  # called at every refresh: keep the user's scroll position
        self._shown = shown
        configs = [r.get("config") or {} for r in runs]
        keys = differing_keys(configs)
        flat = [flatten(c) for c in configs]
        self.clear()
        self.setColumnCount(len(runs))
        self.setRowCount(len(keys))
        self.setHorizontalHeaderLabels([f"#{r['id']} {r.get('name') or ''}".strip() for r in runs])
        self.setVerticalHeaderLabels(keys)
        for row, key in enumerate(keys):
            for col, f in enumerate(flat):
                text = cell_text(f[key]) if key in f else MISSING
                item = QTableWidgetItem(text)
                item.setToolTip(f"{key} = {text}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, col, item)

    @property
    def keys(self) -> list[str]:
        """The differing keys shown, in row order."""
        return [self.verticalHeaderItem(i).text() for i in range(self.rowCount())]
