"""Speed settings: what activation checkpointing and kernels choose from the config and the machine."""
from __future__ import annotations

import pytest
import torch

from studio.config import ConfigError, TrainingSpec
from studio.core.speed import (checkpointing_arguments, kernel_arguments, liger_config, resolve_kernels,
                               speed_arguments)
from studio.core.train import training_arguments

LIGER_TYPES = frozenset({"llama", "mistral", "qwen2"})


def spec(**kw) -> TrainingSpec:
    return TrainingSpec(**kw)


def test_checkpointing_off_adds_nothing_and_says_so():
    kwargs, line = checkpointing_arguments(spec(), "cpu")
    assert kwargs == {}
    assert line.startswith("activation checkpointing: off")


def test_checkpointing_on_is_non_reentrant_for_every_block():
    kwargs, line = checkpointing_arguments(spec(activation_checkpointing="on"), "cpu")
    assert kwargs == {"activation_checkpointing": True, "activation_checkpointing_kwargs": {"use_reentrant": False}}
    assert "every block" in line and "'on'" in line


def test_every_n_checkpoints_every_kth_block():
    kwargs, line = checkpointing_arguments(spec(activation_checkpointing={"every_n": 3}), "cpu")
    assert kwargs["activation_checkpointing_kwargs"] == {"use_reentrant": False, "every_n_layers": 3}
    assert "every 3th block" in line and "{every_n: 3}" in line


def test_offload_on_cuda_keeps_activations_in_pinned_memory():
    kwargs, line = checkpointing_arguments(spec(activation_checkpointing="offload"), "cuda")
    assert kwargs["activation_checkpointing_kwargs"] == {"use_reentrant": False, "offload": True}
    assert "pinned CPU memory" in line


def test_offload_on_cpu_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as err:
        checkpointing_arguments(spec(activation_checkpointing="offload"), "cpu")
    assert err.value.path == "training.activation_checkpointing"
    assert "CUDA" in str(err.value)


def test_training_arguments_carry_the_checkpointing_kwargs(tmp_path):
    kwargs, _ = checkpointing_arguments(spec(activation_checkpointing={"every_n": 2}), "cpu")
    args = training_arguments(spec(), tmp_path, 5, False, "cpu", "fp32", eval_on_start=False, speed=kwargs)
    assert args.activation_checkpointing is True
    assert args.activation_checkpointing_kwargs == {"use_reentrant": False, "every_n_layers": 2}
    plain = training_arguments(spec(), tmp_path, 5, False, "cpu", "fp32", eval_on_start=False)
    assert not plain.activation_checkpointing and not plain.use_liger_kernel


@pytest.mark.parametrize("cuda,importable,model_type,why", [
    (False, True, "llama", "no CUDA device"),
    (True, False, "llama", "pip install -e .[gpu]"),
    (True, True, "bert", "no kernels for model type 'bert'"),
])
def test_auto_falls_back_to_none_with_the_reason(cuda, importable, model_type, why):
    choice, line = resolve_kernels("auto", cuda, importable, model_type, "causal-lm", LIGER_TYPES)
    assert choice == "none"
    assert line.startswith("kernels: none") and why in line and "'auto'" in line


@pytest.mark.parametrize("cuda,importable,model_type", [
    (False, True, "llama"), (True, False, "llama"), (True, True, "gpt2"),
])
def test_explicit_liger_that_cannot_run_is_an_error(cuda, importable, model_type):
    with pytest.raises(ConfigError) as err:
        resolve_kernels("liger", cuda, importable, model_type, "causal-lm", LIGER_TYPES)
    assert err.value.path == "training.kernels"


@pytest.mark.parametrize("kernels", ["auto", "liger"])
def test_liger_on_cuda_for_a_supported_model(kernels):
    choice, line = resolve_kernels(kernels, True, True, "llama", "causal-lm", LIGER_TYPES)
    assert choice == "liger"
    assert "fused_linear_cross_entropy" in line and "rms_norm" in line and "llama" in line


def test_none_is_none_even_where_liger_could_run():
    choice, line = resolve_kernels("none", True, True, "llama", "causal-lm", LIGER_TYPES)
    assert (choice, kernel_arguments(choice, "causal-lm")) == ("none", {})
    assert "'none'" in line


def test_classification_keeps_its_head_loss():
    choice, line = resolve_kernels("auto", True, True, "llama", "classification", LIGER_TYPES)
    assert choice == "liger" and "fused linear cross-entropy off" in line
    assert liger_config("classification")["fused_linear_cross_entropy"] is False
    assert liger_config("causal-lm")["fused_linear_cross_entropy"] is True
    kwargs = kernel_arguments("liger", "classification")
    assert kwargs["use_liger_kernel"] is True
    assert kwargs["liger_kernel_config"] == {"rms_norm": True, "rope": True, "swiglu": True,
                                             "cross_entropy": False, "fused_linear_cross_entropy": False}


def test_speed_arguments_on_this_cpu_give_two_lines():
    kwargs, lines = speed_arguments(spec(activation_checkpointing="on"), "cpu", "llama", "causal-lm")
    assert kwargs["activation_checkpointing"] is True and "use_liger_kernel" not in kwargs
    assert [line.split(":")[0] for line in lines] == ["activation checkpointing", "kernels"]
    assert lines[1].startswith("kernels: none")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="Liger kernels need a CUDA device")
def test_liger_applies_on_cuda(tiny_models):
    pytest.importorskip("liger_kernel", reason="liger-kernel is not installed (pip install -e .[gpu])")
    from studio.core.models import load_model

    kwargs, lines = speed_arguments(spec(kernels="liger"), "cuda", "llama", "causal-lm")
    assert kwargs["use_liger_kernel"] is True and lines[1].startswith("kernels: liger")
    from transformers.integrations.liger import apply_liger_kernel

    model = load_model(str(tiny_models["llama"]), "causal-lm").cuda()
    apply_liger_kernel(model, kwargs["liger_kernel_config"])
    assert model.model.layers[0].input_layernorm._get_name() == "LigerRMSNorm"  # Liger renames what it patches
    ids = torch.randint(5, 300, (2, 16), device="cuda")
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    assert torch.isfinite(out.loss)
