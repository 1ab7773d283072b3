"""DPO/KTO's reference = the base: the policy with its method switched off, never a second model
(full fine-tuning excepted). Checked numerically against a fresh load of the base."""
from __future__ import annotations

import pytest
import torch

from studio import methods
from studio.core.preference_reference import SwitchedOffReference, reference_for


@pytest.fixture(autouse=True)
def _one_thread(one_thread_seeded):
    yield


def _load(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).eval()


def _policy(folder, method: str):
    model = methods.get(method).apply(_load(folder), methods.parse_options(method, {}), "causal-lm")
    return model.eval()


def _train_a_little(model) -> None:
    """Stand-in for training: every tensor the method trains moves (adapters, biases, blocks)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.3)


IDS = torch.tensor([[5, 17, 42, 9, 100, 7, 61, 3]])


def _logits(model, **kw):
    out = model(input_ids=IDS, **kw).logits
    return out[:, -IDS.shape[1]:]  # prompt tuning prepends virtual tokens


@pytest.mark.parametrize("method", ["lora", "ia3", "prompt", "houlsby", "pfeiffer", "compacter", "bitfit",
                                    "top_k"])
def test_reference_is_the_base_and_the_method_comes_back_on(tiny_models, method):
    folder = tiny_models["gpt2"]
    base = _load(folder)
    policy = _policy(folder, method)
    ref = reference_for(policy, method)
    _train_a_little(policy)
    with torch.no_grad():
        want_base, trained = _logits(base), _logits(policy)
        assert not torch.allclose(trained, want_base, atol=1e-3), "training changed nothing: the test is void"
        got = _logits(ref)
        after = _logits(policy)
    assert isinstance(ref, SwitchedOffReference)
    assert not list(ref.parameters()), "the reference must not hold (or register) a copy of the weights"
    torch.testing.assert_close(got, want_base, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after, trained, atol=0, rtol=0)  # switched back on, exactly


def test_reference_survives_the_trainers_device_move_and_grad_mode(tiny_models):
    """TRL calls it under no_grad; the policy's trained tensors keep their gradients flowing after."""
    folder = tiny_models["gpt2"]
    policy = _policy(folder, "bitfit")
    ref = reference_for(policy, "bitfit")
    _train_a_little(policy)
    ref(input_ids=IDS)
    loss = _logits(policy).float().pow(2).mean()
    loss.backward()
    grads = [p.grad for p in policy.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)


def test_full_fine_tuning_keeps_a_frozen_copy(tiny_models):
    folder = tiny_models["gpt2"]
    base = _load(folder)
    policy = _policy(folder, "full")
    ref = reference_for(policy, "full")
    _train_a_little(policy)
    with torch.no_grad():
        torch.testing.assert_close(_logits(ref), _logits(base), atol=1e-5, rtol=1e-5)
    assert all(not p.requires_grad for p in ref.parameters())
    assert {id(p) for p in ref.parameters()}.isdisjoint(id(p) for p in policy.parameters())
