"""The `preference:` section of a run config (task: preference): which loss and its knobs.

Torch-free like studio/config.py; the names follow TRL 1.16 (DPOConfig, KTOConfig, ORPOConfig), which
core/preference_trainer.py hands them to, and the knobs a user of LLaMA-Factory's DPO tab expects
(beta, the loss variant, the SFT term `ftx`, label smoothing, KTO's class weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt

LOSSES = ("dpo", "kto", "orpo")
# TRL 1.16 DPOConfig.loss_type values (trl/trainer/dpo_config.py); "sft" is the ftx term below.
DPO_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard",
                  "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sigmoid_norm")
KTO_LOSS_TYPES = ("kto", "apo_zero_unpaired")


@dataclass
class PreferenceSpec:
    """Preference tuning (task: preference): DPO, KTO or ORPO on chosen/rejected answers."""

    loss: str = opt("dpo", "dpo (pairs, reference = base), kto (single answers labelled good/bad, "
                    "reference = base) or orpo (pairs, no reference)", choices=LOSSES)
    dpo_loss_type: str = opt("sigmoid", "DPO variant: sigmoid (the paper's), ipo, hinge, robust, ... "
                             "(TRL's loss_type; dpo only)", choices=DPO_LOSS_TYPES)
    kto_loss_type: str = opt("kto", "KTO variant: kto or apo_zero_unpaired (kto only)", choices=KTO_LOSS_TYPES)
    beta: float = opt(0.1, "How far from the reference the model may move (higher = closer); ORPO: the "
                      "odds-ratio weight λ", min=0.0, max=100.0, min_exclusive=True)
    ftx: float = opt(0.0, "Weight of an added SFT loss on the chosen answers (LLaMA-Factory's pref_ftx; "
                     "dpo only; 0 = off)", min=0.0, max=100.0)
    label_smoothing: float = opt(0.0, "Share of preference labels assumed flipped (robust: < 0.5; exo_pair "
                                 "needs > 0, e.g. 1e-3; dpo only)", min=0.0, max=0.5)
    desirable_weight: float = opt(1.0, "KTO: weight of the losses on good answers (raise when they are "
                                  "fewer than the bad ones)", min=0.0, max=100.0, min_exclusive=True)
    undesirable_weight: float = opt(1.0, "KTO: weight of the losses on bad answers", min=0.0, max=100.0,
                                    min_exclusive=True)

    def __post_init__(self) -> None:
        if self.loss != "dpo":
            for name, default in (("dpo_loss_type", "sigmoid"), ("ftx", 0.0), ("label_smoothing", 0.0)):
                if getattr(self, name) != default:
                    raise ConfigError(f"applies to loss dpo only (loss is {self.loss})", name)
        if self.loss != "kto":
            for name, default in (("kto_loss_type", "kto"), ("desirable_weight", 1.0),
                                  ("undesirable_weight", 1.0)):
                if getattr(self, name) != default:
                    raise ConfigError(f"applies to loss kto only (loss is {self.loss})", name)
        if self.dpo_loss_type == "exo_pair" and self.label_smoothing == 0.0:
            raise ConfigError("exo_pair needs label_smoothing > 0 (its paper uses 1e-3)", "label_smoothing")
        if self.dpo_loss_type == "robust" and self.label_smoothing >= 0.5:
            raise ConfigError("robust needs label_smoothing < 0.5 (the share of flipped labels)",
                              "label_smoothing")

    @property
    def uses_reference(self) -> bool:
        """Whether the loss compares with a reference model (ORPO does not)."""
        return self.loss != "orpo"


def check_with_training(pref: PreferenceSpec, training: Any) -> None:
    """Training settings a preference loss cannot work with, as ConfigErrors naming the field."""
    if pref.loss == "kto" and pref.kto_loss_type == "kto" and training.batch_size < 2:
        raise ConfigError("KTO estimates its KL term from the other answers in the batch; use 2 or more",
                          "training.batch_size")
