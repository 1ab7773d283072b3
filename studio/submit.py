"""Validate a config completely, then record the run and start its worker.

Nothing is written to the store until the config, the method options, the model reference and
every data file have passed; a bad input leaves no run row behind.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from studio.config import ConfigError, RunConfig, dump_config, load_config
from studio.core.config_check import SubmitError, load_and_check, resolve_path
from studio.paths import Home

__all__ = ["SubmitError", "load_and_check", "resolve_path", "submit", "expected_steps", "ulmfit_warnings",
           "load_without_data", "check_method"]


def expected_steps(cfg: RunConfig, n_train: int) -> int:
    """The step budget shown before the worker has tokenized anything."""
    t = cfg.training
    if t.max_steps is not None:
        return t.max_steps
    return max(1, math.ceil(math.ceil(n_train / t.batch_size / t.gradient_accumulation) * t.epochs))


def ulmfit_warnings(cfg: RunConfig, probed: dict[str, Any], n_train: int) -> list[str]:
    """What training.ulmfit would leave unlearned on this model (the worker records the same)."""
    from studio.core.ulmfit_guards import run_warnings

    if not cfg.training.ulmfit.active:
        return []
    groups = [(g["name"], None) for g in probed.get("layer_groups") or []]
    return run_warnings(cfg.training, groups, expected_steps(cfg, n_train), n_train)


def submit(db: Any, home: Home, cfg: RunConfig, n_train: int, launch: bool = True) -> int:
    """Record the run as 'queued', write runs/<id>/config.yaml and start it if nothing is running.

    Otherwise it waits its turn: the queue moves on when the running run ends (see studio.jobs)."""
    from studio import jobs
    from studio.store import runs

    home.ensure()
    run_id = runs.create_run(db, name=cfg.name, config=cfg.to_dict(), model=cfg.model,
                             method=cfg.method.name, task=cfg.task, max_steps=expected_steps(cfg, n_train))
    run_dir = home.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    runs.update_run(db, run_id, run_dir=str(run_dir))
    dump_config(cfg, run_dir / "config.yaml")
    if launch:
        jobs.advance(db, home)  # starts this run, unless another trains now or waited longer
    return run_id


def load_without_data(config: str | Path) -> RunConfig:
    """Parse a config and check its method options and model reference, without reading the data."""
    from studio import methods
    from studio.modelinfo.sources import ModelNotFound, resolve_model

    try:
        cfg = load_config(config)
        base_dir = Path(config).resolve().parent
        methods.parse_options(cfg.method.name, cfg.method.options)
        model = cfg.model if cfg.model.startswith("sample:") else resolve_path(cfg.model, base_dir)
        resolve_model(model)
    except ConfigError as e:
        raise SubmitError(str(e.located(str(config)) if not e.source else e)) from None
    except ModelNotFound as e:
        raise SubmitError(f"{config}: model: {e}") from None
    return replace(cfg, model=model)


def check_method(cfg: RunConfig, label_names: list[str] | None, source: str) -> dict[str, Any]:
    """Apply the method to the model built on the meta device (no weights), so anything the method
    refuses (BitFit on a model without biases, Compacter's n not dividing d, top-K's k too large)
    is reported now, naming the config, instead of failing in the worker. Returns the probe."""
    from studio.core.probe import probe
    from studio.core.speed import check_speed_settings

    try:
        probed = probe(cfg, label_names)
        check_speed_settings(cfg, probed["model_type"])  # offload or liger this machine cannot run
        return probed
    except ConfigError as e:
        raise SubmitError(str(e.located(source) if not e.source else e)) from None
    except (ValueError, OSError) as e:
        raise SubmitError(f"{source}: method {cfg.method.name!r} cannot be used with model {cfg.model!r}: {e}") from None
    except RuntimeError as e:  # training.device / precision this machine does not have
        raise SubmitError(f"{source}: training: {e}") from None
