"""Bottleneck adapters: Houlsby et al. (2019) after attention and FFN, Pfeiffer et al. (2021) after
the FFN only. A small down-project, non-linearity, up-project block with its own skip connection."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt
from studio.methods.limits import short_run_limit
from studio.methods.norm_defaults import layer_norms_train
from studio.methods.registry import Method, register

NON_LINEARITIES = ("gelu", "relu", "swish", "tanh")
PLACEMENTS = ("houlsby", "pfeiffer")


def check_common(opts: Any) -> None:
    """Limits that hold however the options were built (the config validator checks them first)."""
    if opts.size < 1:
        raise ConfigError(f"must be >= 1, got {opts.size}", "size")
    if not opts.init_std > 0:
        raise ConfigError(f"must be > 0, got {opts.init_std}", "init_std")
    if opts.non_linearity not in NON_LINEARITIES:
        raise ConfigError(f"{opts.non_linearity!r} is not one of: {', '.join(NON_LINEARITIES)}",
                          "non_linearity")


@dataclass
class HoulsbyOptions:
    """Houlsby adapter settings; defaults follow the paper (sizes 8-256 tried, 64 a good middle)."""

    size: int = opt(64, "Bottleneck width a: the adapter maps d -> a -> d", min=1, max=65536)
    non_linearity: str = opt("gelu", "Non-linearity between the down and up projections",
                             choices=NON_LINEARITIES)
    train_layer_norms: bool = opt(True, "Also train the blocks' layer norms (the paper does)")
    init_std: float = opt(1e-2, "Std of the down projection's initial weights (near-identity start)",
                          min=0.0, min_exclusive=True)

    def __post_init__(self) -> None:
        check_common(self)


@dataclass
class PfeifferOptions(HoulsbyOptions):
    """Pfeiffer adapter settings: as Houlsby, but the layer norms stay frozen by default."""

    train_layer_norms: bool | None = opt(None, "Also train the blocks' layer norms; empty = yes for "
                                               "classification, no for generation (as the paper)")


def apply_adapters(model: Any, opts: Any, task: str, placement: str) -> Any:
    """Freeze the model, add one linear bottleneck adapter per projection in `placement`."""
    from studio.methods import adapter_layers as al
    from studio.methods.layers import freeze, train_classifier_head

    targets = al.projections(model, placement)
    freeze(model)
    al.insert(targets, lambda proj: al.linear_adapter(
        al.out_features(proj), opts.size, opts.non_linearity, opts.init_std, **al.param_kwargs(proj)))
    al.train_adapters(model)
    if layer_norms_train(opts.train_layer_norms, task):
        al.train_block_norms(model)
    train_classifier_head(model, task)
    return model


def apply_houlsby(model: Any, opts: HoulsbyOptions, task: str) -> Any:
    """Adapters after each block's attention output and FFN output projections."""
    return apply_adapters(model, opts, task, "houlsby")


def apply_pfeiffer(model: Any, opts: PfeifferOptions, task: str) -> Any:
    """One adapter after each block's FFN output projection."""
    return apply_adapters(model, opts, task, "pfeiffer")


HOULSBY = register(Method(
    name="houlsby",
    learning_rate=1e-3,
    options=HoulsbyOptions,
    apply=apply_houlsby,
    mergeable=False,
    description=(
        "Houlsby adapters freeze the model and insert a small bottleneck (d -> a, non-linearity, "
        "a -> d, plus a skip connection) after the attention output and after the feed-forward "
        "output of every block; the blocks' layer norms train too by default. Trainable "
        "parameters: 2·(2·d·a + a + d) per block, plus 4·d per block for two LayerNorms "
        "(2·d for two RMSNorms) when layer norms train. The up projection starts at zero, so "
        "training starts exactly from the base model. The non-linearity means it cannot be "
        "merged: inference runs the extra layers. Choose it for many tasks on one shared base "
        "(each task is a small file) when LoRA's linear update is not expressive enough."
    ) + short_run_limit("houlsby"),
))

PFEIFFER = register(Method(
    name="pfeiffer",
    learning_rate=1e-3,
    options=PfeifferOptions,
    apply=apply_pfeiffer,
    mergeable=False,
    description=(
        "Pfeiffer adapters are Houlsby's bottleneck (d -> a -> d with a skip connection) placed "
        "only after the feed-forward output of each block; by default the layer norms stay frozen "
        "for generation, as in the paper, and train for classification. Trainable parameters: "
        "2·d·a + a + d per block, half of Houlsby's (plus the norms' 4·d or 2·d when they train), "
        "and the paper finds it about as accurate while running faster. Not mergeable (non-linearity). "
        "Choose it over Houlsby as the cheaper default bottleneck adapter."
    ) + short_run_limit("pfeiffer"),
))
