"""Putting a whole config into the wizard's steps: a saved or hand-written YAML ("Load config…"), a
finished run's config (the Runs page's "Clone config"), or a fresh start (New run after a run was
queued). Every step's inputs are set as if typed, so each step writes the config back itself."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from studio.config import RunConfig, load_config, parse_text
from studio.ui.pages.wizard.form import Form
from studio.ui.pages.wizard.state import initial_config


def read_config(path: str | Path) -> tuple[dict[str, Any], bool]:
    """(config dict with paths made absolute, whether it sets a learning rate); ConfigError names the field."""
    path = Path(path)
    cfg = load_config(path)  # validates: "run.yaml: training.batch_size: must be >= 1, got 0"
    raw = parse_text(path.read_text(encoding="utf-8"), path) or {}
    explicit_lr = (raw.get("training") or {}).get("learning_rate") is not None
    config = cfg.to_dict()
    base = path.resolve().parent
    config["model"] = _absolute(config["model"], base)
    for key in ("train", "validation"):
        if config["data"].get(key):
            config["data"][key] = _absolute(config["data"][key], base)
    return config, explicit_lr


def _absolute(ref: str, base: Path) -> str:
    """A path relative to the config file made absolute when it exists there (hub ids stay as they are)."""
    candidate = base / Path(ref).expanduser()
    return str(candidate.resolve()) if not Path(ref).is_absolute() and candidate.exists() else ref


def _fill_form(form: Form, values: dict[str, Any]) -> None:
    """Every field of the form from `values`, the spec's default where a value is absent."""
    for name, spec in form.specs.items():
        form.set_value(name, values.get(name, spec.get("default")))


def fill_steps(page: Any, config: dict[str, Any] | None = None, explicit_lr: bool = True) -> None:
    """Show `config` (RunConfig-shaped; None: a fresh wizard) in every step and go to the first one."""
    fresh = config is None
    config = copy.deepcopy(initial_config() if fresh else config)
    if not fresh:
        RunConfig.from_dict(copy.deepcopy(config))  # a clone or a file: refuse it whole, naming the field
    state = page.state
    state.reset()
    method = dict(config.get("method") or {"name": "lora"})
    name = method.pop("name", "lora")
    state.set_method(name, method)

    page.model_step.fill(config)
    data = config.get("data") or {}
    page.data_step.train_edit.setText(data.get("train") or "")
    page.data_step.val_edit.setText(data.get("validation") or "")
    _fill_form(page.data_step.form, data)
    _fill_columns(page.data_step, data.get("columns") or {})

    if page.method_step.cards:
        page.method_step.select(name)  # else the cards pick the config's method once they are listed

    training = page.training_step
    values = dict(config.get("training") or {})
    _fill_form(training.form, values)
    _fill_form(training.speed, values)
    _fill_form(training.ulmfit, values.get("ulmfit") or {})
    training.distributed.set_values(values.get("distributed"))  # processes, strategy (and keys it keeps)
    _fill_form(training.preference.form, config.get("preference") or {})  # task preference's loss, beta ...
    training.lr_edited = not fresh and explicit_lr  # a rate from the file is the user's, not the method's
    training._lr_method = name if training.lr_edited else None
    page.review_step.clear()
    page.go(0)


def _fill_columns(step: Any, columns: dict[str, str]) -> None:
    """The column mapping, for a config that names its format (a detected format maps after inspection)."""
    step._rebuild_mapping()
    for studio_col, theirs in columns.items():
        box = step.column_combos.get(studio_col)
        if box is None:
            continue
        if box.findData(theirs) < 0:
            box.addItem(theirs, theirs)
        box.setCurrentIndex(box.findData(theirs))
    step._on_edit()
