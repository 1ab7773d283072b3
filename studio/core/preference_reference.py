"""The reference model of DPO and KTO: the base, i.e. the policy with its method switched off.

No second copy of the model is kept (full fine-tuning excepted, which has nothing to switch off):
- PEFT methods (lora, dora, ia3, prefix, prompt, qlora): PEFT's `disable_adapter()`.
- our bottleneck adapters and Compacter: their modules and forward hooks are detached for the pass
  (adapter_layers.detach_adapters, the same the comparer uses) and put back after it;
- base tensors the method trains in place (BitFit's biases, top-K's blocks, Houlsby/Compacter's block
  norms when trained): a copy of only those tensors, taken before training, is swapped in for the pass.
  Chosen over TRL's precompute_ref_log_probs because it is exact at every step (dropout off, the same
  batch), costs one extra forward per step like PEFT's way, and survives resume without a precompute
  pass over the whole data set; its memory is the trained tensors only (top-K: K blocks).
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable, ContextManager, Iterator

import torch
from torch import nn

from studio.methods.adapter_layers import ADAPTER, SHARED_RULE, detach_adapters, reattach_adapters


class SwitchedOffReference(nn.Module):
    """The `ref_model` handed to TRL: calling it runs the policy with its method switched off.

    It registers no parameters (the policy is held outside nn.Module's registry), so TRL's device
    placement, dropout switch and fused-LM-head patch touch nothing of the policy through it."""

    def __init__(self, policy: nn.Module, switch_off: Callable[[], ContextManager[Any]]):
        super().__init__()
        self.__dict__["policy"] = policy  # not a submodule: no second registration of its weights
        self.__dict__["switch_off"] = switch_off

    @property
    def config(self) -> Any:
        """The policy's config (TRL reads the text config of its ref_model)."""
        return self.policy.config

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Bypasses self.forward, which TRL's add_fused_lm_head replaces; the policy has its own patch.
        with torch.no_grad(), self.switch_off():
            return self.policy(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Same as calling it."""
        return self(*args, **kwargs)


def reference_for(policy: nn.Module, method_name: str) -> nn.Module:
    """The reference for `policy` trained with `method_name` (call before any training step)."""
    from studio import methods

    if method_name == "full":
        return frozen_copy(policy)
    if methods.get(method_name).peft_native:
        return SwitchedOffReference(policy, policy.disable_adapter)
    return SwitchedOffReference(policy, own_method_switch(policy))


def frozen_copy(policy: nn.Module) -> nn.Module:
    """Full fine-tuning changes every weight, so its reference is a frozen copy (twice the weights)."""
    ref = copy.deepcopy(policy)
    ref.requires_grad_(False)
    return ref.eval()


def own_method_switch(policy: nn.Module) -> Callable[[], ContextManager[None]]:
    """A context manager factory that turns our own method off on `policy` and back on after."""
    originals = {name: p.detach().clone() for name, p in policy.named_parameters()
                 if p.requires_grad and ADAPTER not in name and SHARED_RULE not in name}
    owners = [m for m in policy.modules() if ADAPTER in m._modules or SHARED_RULE in m._modules]
    params = dict(policy.named_parameters())

    @contextlib.contextmanager
    def switched_off() -> Iterator[None]:
        detached = detach_adapters(policy, owners) if owners else []
        trained = {name: params[name].data for name in originals}
        try:
            for name, tensor in originals.items():
                if tensor.device != params[name].device:  # the Trainer moved the model: move the copy once
                    originals[name] = tensor = tensor.to(params[name].device)
                params[name].data = tensor
            yield
        finally:
            for name, tensor in trained.items():
                params[name].data = tensor
            reattach_adapters(detached)

    return switched_off
