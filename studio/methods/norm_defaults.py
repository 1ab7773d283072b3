"""Whether a bottleneck adapter's layer norms train when its option is left empty, torch-free (the
window's memory estimate reads it too, and must not import the method modules' torch code)."""
from __future__ import annotations


def layer_norms_train(value: bool | None, task: str) -> bool:
    """Whether the blocks' layer norms train: the option as set, or when empty, yes for classification.

    Pfeiffer et al. keep the norms frozen, and generation does too. A classifier's new head learns on a
    frozen encoder, and there the norms are cheap capacity: Pfeiffer adapters went from 50.1 to 94.9 %
    on the rankings sample with them (1200 steps, 1e-3; topics in 60 steps: 97.5 % with them, 96.0 % without)."""
    return (task == "classification") if value is None else bool(value)
