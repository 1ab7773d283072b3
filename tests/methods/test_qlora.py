"""QLoRA on CPU: 4-bit and 8-bit bitsandbytes bases load, train a few steps, save, reload and merge."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
bnb = pytest.importorskip("bitsandbytes")

from studio import methods  # noqa: E402
from studio.config import ConfigError  # noqa: E402
from studio.core.models import load_model  # noqa: E402
from studio.methods.saving import load_method_weights  # noqa: E402

QLORA = methods.get("qlora")
BNB_LAYER = {4: "Linear4bit", 8: "Linear8bitLt"}


def options(**extra):
    return methods.parse_options("qlora", {"r": 4, "alpha": 8, "dropout": 0.0, **extra})


def quantized(folder, task: str, opts, **kw):
    """The tiny base loaded the way the recipe will: with the method's load_kwargs."""
    return load_model(str(folder), task, **QLORA.load_kwargs(opts), **kw)


def batch(n: int = 4):
    ids = torch.randint(5, 300, (n, 12), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}


def steps(model, data, n: int) -> tuple[float, float]:
    """n AdamW steps on one batch; (loss before, loss after) in eval mode."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.eval()
    with torch.no_grad():
        first = model(**data).loss.item()
    model.train()
    for _ in range(n):
        model(**data).loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        last = model(**data).loss.item()
    return first, last


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_quantized_base_trains_on_this_machine(tiny_models, arch, bits):
    opts = options(bits=bits)
    model = quantized(tiny_models[arch], "causal-lm", opts)
    blocks = [(n, type(m).__name__) for n, m in model.named_modules()
              if ".h." in n or ".layers." in n]
    linear = [(n, t) for n, t in blocks if t in ("Linear", "Conv1D", *BNB_LAYER.values())]
    assert linear and all(t == BNB_LAYER[bits] for _, t in linear), linear
    assert type(model.get_output_embeddings()).__name__ == "Linear"  # the LM head stays unquantized

    model = QLORA.apply(model, opts, "causal-lm")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_A" in n or "lora_B" in n for n in trainable)
    first, last = steps(model, batch(), 6)
    assert last < first, (first, last)


def test_classifier_head_is_not_quantized_and_trains(tiny_models):
    opts = options()
    model = quantized(tiny_models["bert"], "classification", opts, label_names=["neg", "pos"])
    assert type(model.classifier).__name__ == "Linear"
    assert type(model.bert.encoder.layer[0].attention.self.query).__name__ == "Linear4bit"
    model = QLORA.apply(model, opts, "classification")
    assert any("classifier.modules_to_save" in n for n, p in model.named_parameters() if p.requires_grad)
    data = {**batch(), "labels": torch.tensor([1, 1, 0, 1])}
    first, last = steps(model, data, 4)
    assert last < first


def test_save_reload_and_merge_into_full_precision(tiny_models, tmp_path):
    from peft import PeftModel

    opts = options(bits=4)
    model = QLORA.apply(quantized(tiny_models["llama"], "causal-lm", opts), opts, "causal-lm")
    steps(model, batch(), 3)
    data = {k: v for k, v in batch().items() if k != "labels"}
    with torch.no_grad():
        trained = model(**data).logits
    model.save_pretrained(tmp_path / "adapter")

    again = load_method_weights(quantized(tiny_models["llama"], "causal-lm", opts), tmp_path / "adapter")
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(**data).logits, trained, atol=1e-6, rtol=0)

    # The merge reloads the base unquantized: it equals full-precision base + adapter, not the
    # 4-bit model (that differs by the quantization error).
    full = PeftModel.from_pretrained(load_model(str(tiny_models["llama"]), "causal-lm"), tmp_path / "adapter")
    with torch.no_grad():
        reference = full.eval()(**data).logits
    merged = QLORA.merge(model).eval()
    assert not any(type(m).__name__.startswith("Linear4bit") for m in merged.modules())
    assert not getattr(merged, "is_quantized", False)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(merged(**data).logits, reference, atol=1e-4, rtol=0)


def test_options_and_unquantized_base(tiny_models):
    opts = options(compute_dtype="bf16", quant_type="fp4", double_quant=False)
    q = QLORA.load_kwargs(opts)["quantization_config"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "fp4" and not q.bnb_4bit_use_double_quant
    assert q.bnb_4bit_compute_dtype == torch.bfloat16
    assert QLORA.load_kwargs(options(bits=8))["quantization_config"].load_in_8bit
    defaults = methods.parse_options("qlora", {})
    assert (defaults.r, defaults.alpha, defaults.targets, defaults.bits, defaults.quant_type) == \
        (64, 16.0, "all-linear", 4, "nf4")
    with pytest.raises(ConfigError, match="quantized"):
        QLORA.apply(load_model(str(tiny_models["llama"]), "causal-lm"), options(), "causal-lm")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_4bit_trains_on_cuda_with_auto_compute_dtype(tiny_models):
    opts = options()
    model = QLORA.apply(quantized(tiny_models["llama"], "causal-lm", opts), opts, "causal-lm")
    assert next(model.parameters()).device.type == "cuda"  # bitsandbytes places the base itself
    data = {k: v.cuda() for k, v in batch().items()}
    first, last = steps(model, data, 6)
    assert last < first


def test_transformers_trainer_runs_a_4bit_base_on_cpu(tiny_models, tmp_path):
    from transformers import Trainer, TrainingArguments

    opts = options()
    model = QLORA.apply(quantized(tiny_models["gpt2"], "causal-lm", opts), opts, "causal-lm")
    rows = [{k: v[i] for k, v in batch(8).items()} for i in range(8)]
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4,
                             learning_rate=1e-2, use_cpu=True, report_to="none", logging_steps=1,
                             save_strategy="no", remove_unused_columns=False, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=rows)
    trainer.train()  # the Trainer leaves a bnb model where it is (.to() is unsupported for it)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 4 and all(l == l for l in losses)


# --- CPUs with and without AVX512-BF16 (issue 10, point 5) -----------------------------------
# bitsandbytes 0.50 repacks a Linear4bit for its AVX512-BF16 CPU kernel on the first eval-mode,
# no-grad forward when the module's `support_avx512bf16_for_cpu` is set; that layout cannot train.
# Both paths are simulated on any CPU by deciding what has_avx512bf16() answers at construction.

@pytest.fixture(params=[True, False], ids=["avx512bf16", "no-avx512bf16"])
def cpu_kind(request, monkeypatch):
    import bitsandbytes.nn.modules as bnb_modules

    monkeypatch.setattr(bnb_modules, "has_avx512bf16", lambda: request.param)
    return request.param


def test_eval_then_train_on_both_cpu_kinds(tiny_models, cpu_kind, tmp_path):
    opts = options()
    model = quantized(tiny_models["llama"], "causal-lm", opts)
    layers = [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert layers and not any(m.support_avx512bf16_for_cpu for m in layers)  # the studio's loads keep it off
    for m in layers:  # a base loaded by someone else's code still has it: apply switches it off again
        m.support_avx512bf16_for_cpu = cpu_kind
    model = QLORA.apply(model, opts, "causal-lm")
    assert not any(m.support_avx512bf16_for_cpu for m in layers)
    # eval without grad (the Trainer's evaluation), then training, then eval again
    first, last = steps(model, batch(), 6)
    assert last < first
    assert not any(getattr(m.weight.quant_state, "packing_format_for_cpu", False) for m in layers)
    model.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


def test_recipe_trains_evaluates_resumes_and_saves_on_both_cpu_kinds(tiny_models, cpu_kind, tmp_path):
    from studio.config import RunConfig
    from studio.core import checkpoints
    from studio.core.train import run_training
    from tests.conftest import write_jsonl
    from tests.methods.test_engine_methods import PauseAt, Reporter, topic_rows

    data = write_jsonl(tmp_path / "train.jsonl", topic_rows(60))  # > 50 rows: a validation split
    cfg = RunConfig.from_dict({
        "name": "q", "task": "classification", "model": str(tiny_models["bert"]),
        "data": {"train": str(data), "max_length": 32},
        "method": {"name": "qlora", "r": 4, "alpha": 8, "dropout": 0.0},
        "training": {"max_steps": 4, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 2,
                     "eval_steps": 2, "seed": 0, "device": "cpu"}})
    reporter = Reporter()
    reporter.callbacks.append(PauseAt(2, reporter))
    paused = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=reporter)
    assert paused.status == "paused" and checkpoints.latest_checkpoint(tmp_path / "run")[0] == 2
    done = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(), resume=True,
                        adapter_dir=lambda: tmp_path / "adapter")
    assert done.status == "completed" and done.step == 4
    assert "eval_accuracy" in done.final_metrics  # evaluated (eval mode, no grad) between steps
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


# --- Lean QLoRA (issue 10, point 4) ---------------------------------------------------------

def test_frozen_weights_stay_in_the_compute_dtype(tiny_models):
    from peft import prepare_model_for_kbit_training

    opts = options(compute_dtype="bf16")
    model = QLORA.apply(quantized(tiny_models["llama"], "causal-lm", opts), opts, "causal-lm")
    floats = [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]
    frozen = {p.dtype for n, p in floats if not p.requires_grad}
    assert frozen == {torch.bfloat16}, frozen  # embeddings, norms, LM head: no fp32 upcast
    assert {p.dtype for _, p in floats if p.requires_grad} == {torch.float32}  # LoRA matrices
    assert model.is_activation_checkpointing
    first, last = steps(model, batch(), 6)
    assert last < first, (first, last)

    def param_bytes(m):
        return sum(p.numel() * p.element_size() for p in m.parameters())

    # peft's helper upcasts the same base to fp32: the lean base is smaller by exactly that upcast.
    upcast = prepare_model_for_kbit_training(quantized(tiny_models["llama"], "causal-lm", opts))
    lean_base = model.get_base_model()
    lora = sum(p.numel() * p.element_size() for n, p in lean_base.named_parameters() if "lora_" in n)
    skipped = sum(p.numel() for p in upcast.parameters() if p.dtype == torch.float32)
    assert param_bytes(lean_base) - lora == param_bytes(upcast) - 2 * skipped


def test_checkpointing_option_off_leaves_the_model_alone(tiny_models):
    opts = options(gradient_checkpointing=False)
    model = QLORA.apply(quantized(tiny_models["llama"], "causal-lm", opts), opts, "causal-lm")
    assert not model.is_activation_checkpointing
    first, last = steps(model, batch(), 4)
    assert last < first
