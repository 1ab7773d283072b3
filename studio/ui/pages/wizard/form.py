"""Typed inputs built from field specs: a config dataclass's fields or a method's option specs.

A spec is a plain dict (name, kind, optional, default, doc, choices, labels, min, max, min_exclusive),
so the same form serves RunConfig's dataclasses (read here) and method options (read from
`studio methods --json`, since the method classes live behind torch). Tooltips are the field docs.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from studio.ui.pages.wizard.checkpointing_editor import CheckpointingEditor

# "checkpointing": training.activation_checkpointing, a choice or a mapping {every_n: K}
KINDS = ("int", "float", "bool", "str", "list", "choice", "checkpointing")
DEFAULT_CHOICE = "(default)"
INVALID_STYLE = "QLineEdit { border: 1px solid #d33; }"


def _kind_of(hint: Any) -> tuple[str, bool]:
    """(kind, optional) of a type hint such as `int | None` or `list[str]`."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = True, args[0] if len(args) == 1 else str
    if typing.get_origin(hint) is list:
        return "list", optional
    return {int: "int", float: "float", bool: "bool"}.get(hint, "str"), optional


def specs_from_dataclass(cls: type, names: list[str] | None = None,
                         overrides: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Specs of a config dataclass's fields (all, or `names` in that order), with per-field overrides.

    Overrides serve fields typed `Any` whose values are checked in `__post_init__` (kind, choices).
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for name in names or list(fields):
        f = fields[name]
        kind, optional = _kind_of(hints[name])
        default = f.default if f.default is not dataclasses.MISSING else None
        out.append({"name": name, "kind": "choice" if f.metadata.get("choices") else kind, "optional": optional,
                    "default": default, **{k: f.metadata.get(k) for k in ("doc", "choices", "min", "max")},
                    "min_exclusive": bool(f.metadata.get("min_exclusive")), **(overrides or {}).get(name, {})})
    return out


def spec_from_option(option: dict[str, Any]) -> dict[str, Any]:
    """Spec of one method option as `studio methods --json` lists it (type like "int | None")."""
    text = str(option.get("type", "str"))
    optional = "None" in text
    base = text.replace("| None", "").replace("Optional[", "").strip().removeprefix("<class '").rstrip("'>]")
    kind = "list" if base.startswith("list") else base if base in ("int", "float", "bool") else "str"
    return {"name": option["name"], "kind": "choice" if option.get("choices") else kind, "optional": optional,
            "default": option.get("default"), "doc": option.get("doc") or "", "choices": option.get("choices"),
            "min": option.get("min"), "max": option.get("max"), "min_exclusive": False}


def format_value(value: Any) -> str:
    """How a value is written into a line edit (floats round-trip exactly)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def parse_value(spec: dict[str, Any], text: str) -> Any:
    """The typed value of a line edit's text; ValueError says what is wrong."""
    text = text.strip()
    if not text:
        if spec["optional"]:
            return None
        raise ValueError("required")
    kind = spec["kind"]
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "str":
        return text
    try:
        value: Any = int(text) if kind == "int" else float(text)
    except ValueError:
        raise ValueError(f"expected {'a whole number' if kind == 'int' else 'a number'}, got {text!r}") from None
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and (value < lo or (spec.get("min_exclusive") and value == lo)):
        raise ValueError(f"must be {'>' if spec.get('min_exclusive') else '>='} {lo}, got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"must be <= {hi}, got {value}")
    return value


class Form(QWidget):
    """A QFormLayout of typed inputs; `changed` on any change, `edited(name)` on the user's edits."""

    changed = Signal()
    edited = Signal(str)

    def __init__(self, specs: list[dict[str, Any]], values: dict[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = {s["name"]: s for s in specs}
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for spec in specs:
            editor = self._editor(spec)
            label = QLabel(spec["name"].replace("_", " "))
            tip = spec.get("doc") or spec["name"]
            label.setToolTip(tip)
            editor.setToolTip(tip)
            self.editors[spec["name"]] = editor
            layout.addRow(label, editor)
        for name, value in (values or {}).items():
            if name in self.editors:
                self.set_value(name, value)

    def _editor(self, spec: dict[str, Any]) -> QWidget:
        name, kind = spec["name"], spec["kind"]
        if kind == "checkpointing":
            editor = CheckpointingEditor(tuple(spec.get("choices") or ()), spec.get("default"))
            editor.changed.connect(self.changed.emit)
            editor.edited.connect(lambda n=name: self.edited.emit(n))
            return editor
        if kind == "choice" or (kind == "bool" and spec["optional"]):
            box = QComboBox()
            if spec["optional"]:
                box.addItem(DEFAULT_CHOICE, None)
            labels = spec.get("labels") or {}  # display names; the value stays the config's
            for choice in spec.get("choices") or (True, False):
                box.addItem(labels.get(choice) or (str(choice).lower() if isinstance(choice, bool) else str(choice)),
                            choice)
            box.setCurrentIndex(max(0, box.findData(spec.get("default"))))
            box.currentIndexChanged.connect(lambda _i: self.changed.emit())
            box.activated.connect(lambda _i, n=name: self.edited.emit(n))
            return box
        if kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(spec.get("default")))
            check.toggled.connect(lambda _on: self.changed.emit())
            check.clicked.connect(lambda _on, n=name: self.edited.emit(n))
            return check
        line = QLineEdit(format_value(spec.get("default")))
        if spec["optional"]:
            line.setPlaceholderText("default" if spec.get("default") is None else format_value(spec["default"]))
        if kind == "list":
            line.setPlaceholderText("default (comma-separated names)")
        line.textChanged.connect(lambda _t, n=name: self._mark(n))
        line.textEdited.connect(lambda _t, n=name: self.edited.emit(n))
        return line

    def _mark(self, name: str) -> None:
        self.editors[name].setStyleSheet("" if name not in self.errors() else INVALID_STYLE)
        self.changed.emit()

    def value(self, name: str) -> Any:
        """The field's typed value; ValueError when the text does not parse or is out of range."""
        editor, spec = self.editors[name], self.specs[name]
        if isinstance(editor, CheckpointingEditor):
            return editor.value()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        return parse_value(spec, editor.text())

    def set_value(self, name: str, value: Any) -> None:
        """Show `value` in the field (does not count as the user's edit)."""
        editor = self.editors[name]
        if isinstance(editor, CheckpointingEditor):
            editor.set_value(value)
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(value)))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        else:
            editor.setText(format_value(value))

    def values(self, skip_defaults: bool = False) -> dict[str, Any]:
        """Every valid field's value (optionally only those differing from the spec's default)."""
        out = {}
        for name, spec in self.specs.items():
            try:
                value = self.value(name)
            except ValueError:
                continue
            if not (skip_defaults and value == spec.get("default")):
                out[name] = value
        return out

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with its text."""
        out = {}
        for name in self.specs:
            try:
                self.value(name)
            except ValueError as e:
                out[name] = str(e)
        return out

    def first_error(self, prefix: str = "") -> str | None:
        """'prefix.field: message' for the first invalid field, or None."""
        errors = self.errors()
        return next((f"{prefix}{name}: {msg}" for name, msg in errors.items()), None)
