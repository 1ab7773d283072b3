"""Compacter (Karimi Mahabadi et al., 2021): a bottleneck adapter whose projections are PHM layers,
W = sum_i A_i (x) B_i, with the small A_i shared by every layer of the model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt
from studio.methods.bottleneck import NON_LINEARITIES, PLACEMENTS, check_common
from studio.methods.limits import short_run_limit
from studio.methods.registry import Method, register


@dataclass
class CompacterOptions:
    """Compacter settings; n = 4 and a rank-1 B_i are the paper's Compacter, no rank its PHM-Adapter."""

    size: int = opt(64, "Bottleneck width a: the adapter maps d -> a -> d; n must divide it",
                    min=1, max=65536)
    n: int = opt(4, "Kronecker terms: adapter weights are 1/n of a plain adapter's; must divide d and size",
                 min=1, max=64)
    phm_rank: int | None = opt(None, "Rank r of each B_i = s_i·t_i^T (the paper's Compacter: 1); "
                                     "empty = full B_i (PHM-Adapter)", min=1, max=4096)
    placement: str = opt("houlsby", "houlsby: after attention and FFN; pfeiffer: after the FFN only "
                                    "(Compacter++)", choices=PLACEMENTS)
    non_linearity: str = opt("gelu", "Non-linearity between the down and up projections",
                             choices=NON_LINEARITIES)
    train_layer_norms: bool | None = opt(None, "Also train the blocks' layer norms; empty = yes for "
                                               "houlsby placement, no for pfeiffer")
    init_std: float = opt(1e-2, "Std of the down projection's initial B_i (near-identity start)",
                          min=0.0, min_exclusive=True)

    def __post_init__(self) -> None:
        check_common(self)
        if self.n < 1:
            raise ConfigError(f"must be >= 1, got {self.n}", "n")
        if self.phm_rank is not None and self.phm_rank < 1:
            raise ConfigError(f"must be >= 1, got {self.phm_rank}", "phm_rank")
        if self.placement not in PLACEMENTS:
            raise ConfigError(f"{self.placement!r} is not one of: {', '.join(PLACEMENTS)}", "placement")


def check_divisible(n: int, d: int, size: int) -> None:
    """A ConfigError naming n, d and size unless n divides both d and size."""
    if d % n or size % n:
        raise ConfigError(f"n={n} must divide both the model's hidden size d={d} and the "
                          f"bottleneck size={size}; choose an n that divides both", "method.n")


def apply(model: Any, opts: CompacterOptions, task: str) -> Any:
    """Freeze the model, add one shared PHM rule and a PHM adapter per projection in the placement."""
    from studio.methods import adapter_layers as al
    from studio.methods.layers import freeze, train_classifier_head

    targets = al.projections(model, opts.placement)
    for proj in targets:  # check everything before changing anything
        check_divisible(opts.n, al.out_features(proj), opts.size)
    freeze(model)
    rule = al.add_shared_rule(model, opts.n, targets[0])
    al.insert(targets, lambda proj: al.phm_adapter(
        al.out_features(proj), opts.size, rule, opts.phm_rank, opts.non_linearity, opts.init_std,
        **al.param_kwargs(proj)))
    al.train_adapters(model)
    norms = opts.train_layer_norms
    if norms or (norms is None and opts.placement == "houlsby"):
        al.train_block_norms(model)
    train_classifier_head(model, task)
    return model


METHOD = register(Method(
    name="compacter",
    learning_rate=3e-3,
    options=CompacterOptions,
    apply=apply,
    mergeable=False,
    description=(
        "Compacter freezes the model and inserts bottleneck adapters (d -> a -> d with a skip "
        "connection) whose two projections are parameterized hypercomplex layers: each weight is "
        "a sum of n Kronecker products A_i ⊗ B_i, where the n×n matrices A_i are shared by every "
        "adapter in the model and only B_i belongs to one layer. Trainable parameters: n³ shared, "
        "plus per adapter 2·d·a/n + a + d with full B_i, or 2·r·(d + a) + a + d when each B_i is "
        "a rank-r product s_i·t_iᵀ; there are 2 adapters per block (houlsby placement) or 1 "
        "(pfeiffer placement, Compacter++), plus the blocks' layer norms when they train. The up "
        "projection starts at zero, so training starts exactly from the base model. Not mergeable. "
        "Choose it when adapter files must be tiny (about 1/n of Houlsby's, far less at rank 1) "
        "and a little extra compute per step is acceptable."
    ) + short_run_limit("compacter"),
))
