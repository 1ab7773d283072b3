"""Preference runs in the shared recipe (core/run_setup.py): the model check and the rows TRL takes.

TRL tokenizes preference rows itself (prompt + chosen / rejected, or prompt + completion + label
for KTO), so a preference run hands it the rows from core/preference_data.py untokenized.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.config import ConfigError, RunConfig

# Architectures that generate text left to right; anything else (an encoder, a classifier) cannot
# score a completion's log-probability, which DPO, KTO and ORPO all rest on.
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def check_causal_model(folder: str) -> None:
    """ConfigError naming `model` unless the folder holds a causal language model."""
    config_json = Path(folder) / "config.json"
    if not config_json.is_file():  # a hub id resolved later: transformers' own error then applies
        return
    config = json.loads(config_json.read_text(encoding="utf-8"))
    archs = config.get("architectures") or []
    if archs and not any(a.endswith(CAUSAL_SUFFIXES) for a in archs):
        raise ConfigError(f"preference tuning needs a causal language model (one that generates text); "
                          f"this model is a {archs[0]} ({config.get('model_type', '?')}), which cannot "
                          "score an answer's log-probability. Choose a generative model, e.g. SmolLM2",
                          "model")


def preference_rows(cfg: RunConfig, tokenizer: Any) -> tuple[Any, Any, Any]:
    """(PreparedData, train rows, eval rows or None) for TRL: core/preference_data.py's
    preference_dataset, keeping the checked data's warnings for the run."""
    from studio.core.preference_data import rows_to_dataset
    from studio.core.preference_rows import prepare_preference

    data = prepare_preference(cfg.data, cfg.training.seed, cfg.preference.loss)
    train = rows_to_dataset(data.train, data.format, tokenizer, data.source_lines["train"])
    val = rows_to_dataset(data.validation, data.format, tokenizer, data.source_lines["validation"]) \
        if data.validation else None
    return data, train, val
