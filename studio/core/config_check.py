"""A run config checked completely — options, model reference, every data file — before anything runs.

Below studio.submit (which records runs) so that core (the data preview) can use the same checks.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from studio.config import ConfigError, RunConfig, load_config


class SubmitError(ValueError):
    """The config or its data cannot be trained; the message names file, key or line."""


def load_and_check(config: str | Path | RunConfig, base_dir: Path | None = None) -> tuple[RunConfig, Any]:
    """Parse and validate a config and its data; returns (config with absolute paths, PreparedData)."""
    from studio import methods
    from studio.core.data import DataError, prepare_data
    from studio.core.distributed_check import refuse_distributed
    from studio.modelinfo.sources import ModelNotFound, resolve_model

    try:
        if isinstance(config, RunConfig):
            cfg, source = config, "config"
        else:
            cfg, source = load_config(config), str(config)
            base_dir = base_dir or Path(config).resolve().parent
        cfg = replace(cfg, data=replace(cfg.data, train=resolve_path(cfg.data.train, base_dir),
                                        validation=resolve_path(cfg.data.validation, base_dir)))
        try:
            methods.parse_options(cfg.method.name, cfg.method.options)
            refuse_distributed(cfg)  # what cannot train in several processes, with the reason
        except ConfigError as e:
            raise e.located(source) from None
        model = cfg.model if cfg.model.startswith("sample:") else resolve_path(cfg.model, base_dir)
        try:
            src = resolve_model(model)
        except ModelNotFound as e:
            raise ConfigError(str(e), "model", source) from None
        if src.kind != "hub":
            cfg = replace(cfg, model=model)
        if cfg.task == "preference":  # also checks the file suits the loss (KTO rows are no pairs)
            from studio.core.preference_rows import prepare_preference
            from studio.core.preference_setup import check_causal_model

            if src.kind != "hub" and not src.gguf_file:  # a classifier is refused before a run is recorded
                try:
                    check_causal_model(src.path)
                except ConfigError as e:
                    raise e.located(source) from None

            data = prepare_preference(cfg.data, cfg.training.seed, cfg.preference.loss)
        else:
            data = prepare_data(cfg.data, cfg.task, cfg.training.seed)
    except (ConfigError, DataError) as e:
        raise SubmitError(str(e)) from None
    return cfg, data


def resolve_path(path: str | None, base_dir: Path | None) -> str | None:
    """Relative paths are read from the config file's folder, else from the working folder."""
    if path is None or Path(path).is_absolute():
        return path
    for root in (base_dir, Path.cwd()):
        if root is not None and (Path(root) / path).exists():
            return str((Path(root) / path).resolve())
    return path  # a hub id, or a missing file that prepare_data reports with its name
