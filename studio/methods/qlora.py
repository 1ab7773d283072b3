"""QLoRA (Dettmers et al., 2023): LoRA on a frozen base stored in 4-bit NF4 (or 8-bit) by bitsandbytes."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from studio.config import ConfigError, opt
from studio.methods.lora import LoraOptions, lora_config
from studio.methods.registry import Method, register
from studio.methods.targets import PRESETS

COMPUTE_DTYPES = ("auto", "bf16", "fp16", "fp32")
# Heads stay in full precision: a new classifier head trains (modules_to_save) and cannot be a
# bnb layer, and the LM head is kept unquantized as in the paper. Listing them replaces
# transformers' automatic guess, which misses heads whose last parameter is a bias (BERT's classifier).
SKIP_MODULES = ["lm_head", "embed_out", "classifier", "score"]


@dataclass
class QloraOptions(LoraOptions):
    """QLoRA settings; LoRA defaults follow the paper (r 64, alpha 16, dropout 0.1, all linear layers)."""

    r: int = opt(64, "Rank of the update BA (the paper uses 64 on every linear layer)", min=1, max=1024)
    alpha: float = opt(16.0, "Scale: the update is multiplied by alpha / r", min=0.0, min_exclusive=True)
    dropout: float = opt(0.1, "Dropout on the adapter's input (the paper: 0.1 up to 13B, 0.05 above)",
                         min=0.0, max=0.9)
    targets: str = opt("all-linear", "Layers to adapt; the paper needs all linear layers to match "
                       "16-bit fine-tuning", choices=PRESETS)
    bits: int = opt(4, "Storage precision of the frozen base: 4 (QLoRA) or 8 (LLM.int8)", choices=(4, 8))
    quant_type: str = opt("nf4", "4-bit data type: nf4 (the paper's NormalFloat) or fp4",
                          choices=("nf4", "fp4"))
    double_quant: bool = opt(True, "Also quantize the quantization constants (saves ~0.4 bit per weight)")
    compute_dtype: str = opt("auto", "dtype the 4-bit weights are dequantized to for matmuls; auto: bf16 "
                             "on GPUs that support it, fp16 on older GPUs, fp32 on CPU",
                             choices=COMPUTE_DTYPES)
    gradient_checkpointing: bool = opt(True, "Recompute activations in the backward pass (the paper's "
                                       "memory setting; slower steps); training.activation_checkpointing, "
                                       "when not off, decides instead")


def compute_dtype(name: str) -> Any:
    """The torch dtype for a compute_dtype option ('auto' resolved for this machine)."""
    import torch

    if name == "auto":
        if not torch.cuda.is_available():
            return torch.float32  # bf16 also works on CPU with bitsandbytes ≥ 0.45, fp32 is exact
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def quantization_config(opts: QloraOptions) -> Any:
    """The transformers BitsAndBytesConfig for these options."""
    from transformers import BitsAndBytesConfig

    if opts.bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(SKIP_MODULES))
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=opts.quant_type,
                              bnb_4bit_use_double_quant=opts.double_quant,
                              bnb_4bit_compute_dtype=compute_dtype(opts.compute_dtype),
                              llm_int8_skip_modules=list(SKIP_MODULES))


def load_kwargs(opts: QloraOptions) -> dict[str, Any]:
    """Extra `from_pretrained` kwargs: the base is quantized while it loads, and what stays
    unquantized (embeddings, norms, heads) is stored in the compute dtype, not upcast to fp32."""
    return {"quantization_config": quantization_config(opts), "dtype": compute_dtype(opts.compute_dtype)}


def keep_trainable_cpu_layout(model: Any) -> Any:
    """Stop bitsandbytes from repacking 4-bit weights for its AVX512-BF16 CPU kernel.

    On CPUs with AVX512-BF16, bitsandbytes 0.50 converts a Linear4bit's weight to a packed
    inference layout the first time it runs in eval mode without grad (the Trainer's evaluation,
    a sample generation). That layout has no backward pass and needs both dimensions to be
    multiples of 32, so training after an evaluation fails ("a view of a leaf Variable that
    requires grad ...", or "shape '[32, 0]' is invalid" on small layers). The standard layout
    works for training and inference on every CPU."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    return model


def apply(model: Any, opts: QloraOptions, task: str) -> Any:
    """Freeze the quantized base as it is (compute dtype, no fp32 upcast), add LoRA, and turn on
    non-reentrant activation checkpointing when asked."""
    from peft import get_peft_model

    if not getattr(model, "is_quantized", False):
        raise ConfigError("qlora needs the base loaded quantized: pass the method's load_kwargs "
                          "(quantization_config) to from_pretrained", "method.name")
    keep_trainable_cpu_layout(model)
    # peft's prepare_model_for_kbit_training would upcast every non-quantized weight to fp32 (on a
    # 1B Llama the tied 128k embedding alone is ~0.5 GB more); the frozen weights stay in the
    # compute dtype here, and only the LoRA matrices are fp32 (peft's autocast_adapter_dtype).
    for param in model.parameters():
        param.requires_grad_(False)
    if opts.gradient_checkpointing:
        # Non-reentrant checkpointing: torch's recommended mode; the reentrant one warns every step.
        # No enable_input_require_grads() (peft's helper adds it for the reentrant mode): the
        # non-reentrant mode reaches the adapters inside a block without a grad on its input, and
        # the forced grad would backpropagate through every frozen block below the adapters.
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    return get_peft_model(model, lora_config(model, opts, task))


def merge(model: Any) -> Any:
    """LoRA merged into a full-precision reload of the base (merging into 4-bit would round it again)."""
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    config = copy.deepcopy(model.peft_config["default"])
    base = model.get_base_model()
    base_config = copy.deepcopy(base.config)
    for attr in ("quantization_config", "_is_quantized", "_pre_quantization_dtype"):
        if hasattr(base_config, attr):
            delattr(base_config, attr)
    # The checkpoint's own dtype; a new classifier head's shape may differ (it comes from the adapter).
    full = type(base).from_pretrained(config.base_model_name_or_path, config=base_config, dtype="auto",
                                      ignore_mismatched_sizes=True)
    peft_model = get_peft_model(full, config)
    set_peft_model_state_dict(peft_model, get_peft_model_state_dict(model))
    return peft_model.merge_and_unload()


METHOD = register(Method(
    name="qlora",
    learning_rate=2e-4,
    options=QloraOptions,
    apply=apply,
    mergeable=True,
    peft_native=True,
    load_kwargs=load_kwargs,
    merge=merge,
    description=(
        "QLoRA stores the frozen base in 4-bit NormalFloat (or 8-bit) and trains LoRA matrices in "
        "higher precision on top; gradients flow through the dequantized weights. Trainable "
        "parameters: r·(d_in + d_out) per adapted matrix, as LoRA (the paper adapts every linear "
        "layer with r = 64). The base takes about a quarter of its 16-bit memory. Merging reloads the "
        "base in full precision and adds B·A, so the merged model differs from the trained one by "
        "the quantization error. Choose it when the model does not fit in memory for LoRA."
    ),
))
