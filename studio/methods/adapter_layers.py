"""Bottleneck adapter modules (Houlsby, Pfeiffer, Compacter) and where they go in a block.

An adapter hangs off a block's output projection as a child module plus a forward hook, so every
base parameter keeps its name: the base still loads, saves and counts as before.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn

from studio.config import ConfigError
from studio.methods.layers import block_list

ADAPTER = "studio_adapter"
SHARED_RULE = "studio_adapter_rule"

# (attention output, FFN output) projection names relative to a block. Matched exactly, not as
# suffixes: BERT's FFN "output.dense" is also the tail of its attention "attention.output.dense".
PROJECTIONS: tuple[tuple[str, str], ...] = (
    ("attn.c_proj", "mlp.c_proj"),                  # GPT-2, GPT-BigCode (Conv1D)
    ("self_attn.o_proj", "mlp.down_proj"),          # Llama, Mistral, Qwen2, Gemma, Phi-3
    ("attention.output.dense", "output.dense"),     # BERT, RoBERTa, ELECTRA
    ("attention.out_lin", "ffn.lin2"),              # DistilBERT
    ("self_attn.out_proj", "fc2"),                  # OPT
    ("attention.dense", "mlp.dense_4h_to_h"),       # GPT-NeoX
    ("self_attention.dense", "mlp.dense_4h_to_h"),  # Falcon, BLOOM
    ("attn.out_proj", "mlp.fc_out"),                # GPT-J
    ("self_attn.dense", "mlp.fc2"),                 # Phi
)

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "gelu": nn.GELU, "relu": nn.ReLU, "swish": nn.SiLU, "tanh": nn.Tanh}


def _apply_adapter(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: route a projection's output through its adapter (module-level: deepcopy-safe)."""
    return getattr(module, ADAPTER)(output)


class Adapter(nn.Module):
    """h + up(f(down(h))): the bottleneck with its internal skip connection."""

    def __init__(self, down: nn.Module, non_linearity: str, up: nn.Module):
        super().__init__()
        self.down, self.act, self.up = down, _ACTIVATIONS[non_linearity](), up

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Add the adapter's output to h, computing in the adapter's dtype (read live: .to() moves it)."""
        z = self.up(self.act(self.down(h.to(self.up.bias.dtype))))
        return h + z.to(h.dtype)


def linear_adapter(d: int, size: int, non_linearity: str, init_std: float, *,
                   device: Any, dtype: torch.dtype) -> Adapter:
    """Houlsby/Pfeiffer adapter: down near-zero, up exactly zero so the block is unchanged at step 0."""
    down = nn.Linear(d, size, device=device, dtype=dtype)
    up = nn.Linear(size, d, device=device, dtype=dtype)
    nn.init.normal_(down.weight, std=init_std)
    for t in (down.bias, up.weight, up.bias):
        nn.init.zeros_(t)
    return Adapter(down, non_linearity, up)


class PHMRule(nn.Module):
    """The n matrices A_i (n x n) that every Compacter PHM layer in the model shares."""

    def __init__(self, n: int, *, device: Any, dtype: torch.dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, n, n, device=device, dtype=dtype))
        # U(-1, 1) as in the Compacter reference code: keeps W = sum A_i (x) B_i at B's scale.
        nn.init.uniform_(self.weight, -1.0, 1.0)


class PHMLinear(nn.Module):
    """y = x W + b with W = sum_i A_i (x) B_i; B_i full, or s_i t_i^T of rank r."""

    def __init__(self, d_in: int, d_out: int, rule: PHMRule, rank: int | None, init_std: float,
                 zero: bool, *, device: Any, dtype: torch.dtype):
        super().__init__()
        n = rule.weight.shape[0]
        p, q = d_in // n, d_out // n
        # A plain reference, not a submodule: the rule is registered once, on the model, so it is
        # neither counted nor saved once per layer.
        self._rule = (rule,)
        kw = {"device": device, "dtype": dtype}
        if rank is None:
            self.b = nn.Parameter(torch.empty(n, p, q, **kw))
            nn.init.zeros_(self.b) if zero else nn.init.normal_(self.b, std=init_std)
        else:
            self.s = nn.Parameter(torch.empty(n, p, rank, **kw))
            self.t = nn.Parameter(torch.empty(n, q, rank, **kw))
            # s t^T summed over r terms has std init_std when each factor has this std.
            std = (init_std / rank ** 0.5) ** 0.5
            nn.init.normal_(self.s, std=std)
            nn.init.zeros_(self.t) if zero else nn.init.normal_(self.t, std=std)
        self.bias = nn.Parameter(torch.zeros(d_out, **kw))
        self.rank = rank

    def weight(self) -> torch.Tensor:
        """The (d_in, d_out) matrix sum_i kron(A_i, B_i)."""
        b = self.b if self.rank is None else self.s @ self.t.transpose(-1, -2)
        a = self._rule[0].weight.to(b.device)
        n, p, q = b.shape
        return torch.einsum("nij,nkl->ikjl", a, b).reshape(n * p, n * q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x W + b."""
        return x @ self.weight() + self.bias


def phm_adapter(d: int, size: int, rule: PHMRule, rank: int | None, non_linearity: str,
                init_std: float, *, device: Any, dtype: torch.dtype) -> Adapter:
    """Compacter adapter: PHM down and up projections; up's B (or t) zero, so output = base at init."""
    kw = {"device": device, "dtype": dtype}
    down = PHMLinear(d, size, rule, rank, init_std, zero=False, **kw)
    up = PHMLinear(size, d, rule, rank, init_std, zero=True, **kw)
    return Adapter(down, non_linearity, up)


def out_features(proj: nn.Module) -> int:
    """Output width of a projection: nn.Linear (and subclasses), GPT-2's Conv1D."""
    for attr in ("out_features", "nf"):
        if isinstance(getattr(proj, attr, None), int):
            return getattr(proj, attr)
    return int(proj.weight.shape[0])


def param_kwargs(proj: nn.Module) -> dict[str, Any]:
    """device/dtype for new parameters next to this projection (float32 beside quantized weights)."""
    w = proj.weight
    return {"device": w.device, "dtype": w.dtype if w.is_floating_point() else torch.float32}


def projections(model: Any, placement: str) -> list[nn.Module]:
    """Output projections to adapt, block by block: attention and FFN (houlsby) or FFN (pfeiffer)."""
    for m in model.modules():
        if hasattr(m, ADAPTER) or hasattr(m, SHARED_RULE):
            raise ValueError("this model already has bottleneck adapters; apply a method to a fresh "
                             "base model only once")
    _, blocks = block_list(model)
    first = dict(blocks[0].named_modules())
    for attn, ffn in PROJECTIONS:
        if attn in first and ffn in first:
            names = (attn, ffn) if placement == "houlsby" else (ffn,)
            return [dict(block.named_modules())[n] for block in blocks for n in names]
    model_type = getattr(getattr(model, "config", None), "model_type", None) or type(model).__name__
    looked = "; ".join(f"{a} + {f}" for a, f in PROJECTIONS)
    raise ConfigError(f"bottleneck adapters cannot be placed in a {model_type!r} block "
                      f"({type(blocks[0]).__name__}): found none of the (attention output + FFN "
                      f"output) projection pairs {looked}", "method.name")


def insert(targets: list[nn.Module], make: Callable[[nn.Module], nn.Module]) -> None:
    """Hang make(projection) under each projection and route the projection's output through it."""
    for proj in targets:
        proj.add_module(ADAPTER, make(proj))
        proj.register_forward_hook(_apply_adapter)


def add_shared_rule(model: Any, n: int, near: nn.Module) -> PHMRule:
    """Register the one PHM rule on the base model (after the blocks, so it groups with the head)."""
    owner = getattr(model, getattr(model, "base_model_prefix", ""), None) or model
    rule = PHMRule(n, **param_kwargs(near))
    owner.add_module(SHARED_RULE, rule)
    return rule


def train_adapters(model: Any) -> list[str]:
    """Make every adapter parameter (and the shared rule) trainable; return their names."""
    names = []
    for name, p in model.named_parameters():
        if ADAPTER in name:
            p.requires_grad_(True)
            names.append(name)
    return names


def train_block_norms(model: Any) -> list[str]:
    """Make the LayerNorm/RMSNorm parameters inside the transformer blocks trainable."""
    blocks_name, blocks = block_list(model)
    names = []
    for i, block in enumerate(blocks):
        for mod_name, module in block.named_modules():
            if isinstance(module, nn.LayerNorm) or "norm" in type(module).__name__.lower():
                for p_name, p in module.named_parameters(recurse=False):
                    p.requires_grad_(True)
                    names.append(f"{blocks_name}.{i}.{mod_name}.{p_name}")
    return names


def detach_adapters(model: Any, owners: list[nn.Module] | None = None) -> list[tuple[nn.Module, str, nn.Module]]:
    """Undo insert/add_shared_rule: take out every adapter module, its forward hook and the shared rule.

    The model is left as the base was before the method was applied (the comparer swaps adapters
    this way without reloading the base); returns (owner, name, module) for reattach_adapters.
    `owners`: the modules that hold them, when known (walking a big model's modules takes ms)."""
    detached = []
    for module in list(model.modules()) if owners is None else owners:
        for name in (ADAPTER, SHARED_RULE):
            if name in module._modules:
                detached.append((module, name, module._modules.pop(name)))
        keys = [k for k, fn in module._forward_hooks.items() if fn is _apply_adapter]
        for key in keys:  # the handle's id also keys these side tables
            for hooks in (module._forward_hooks, module._forward_hooks_with_kwargs,
                          module._forward_hooks_always_called):
                hooks.pop(key, None)
    return detached


def reattach_adapters(detached: list[tuple[nn.Module, str, nn.Module]]) -> None:
    """Put back what detach_adapters took out: the same modules, so the same trained weights."""
    for owner, name, module in detached:
        owner.add_module(name, module)
        if name == ADAPTER:
            owner.register_forward_hook(_apply_adapter)
