"""DoRA, (IA)³, prefix and prompt tuning on tiny gpt2 / llama / BERT-classifier models: what trains,
how much (closed-form counts from the config), start-from-base, learning, save → reload, merge."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from studio import methods  # noqa: E402
from studio.config import ConfigError  # noqa: E402
from studio.core.models import load_model  # noqa: E402
from studio.methods.saving import load_method_weights  # noqa: E402

ARCHS = ("gpt2", "llama", "bert")
LABELS = ["neg", "pos"]
# Small options keep the models tiny; the counts below are computed for exactly these.
CASES = {
    "dora": ("dora", {"r": 4, "alpha": 8}),
    "ia3": ("ia3", {}),
    "prefix": ("prefix", {"num_virtual_tokens": 4, "encoder_hidden_size": 16, "prefix_projection": True}),
    "prefix-flat": ("prefix", {"num_virtual_tokens": 4, "prefix_projection": False}),
    "prompt": ("prompt", {"num_virtual_tokens": 4}),
}
ALLOWED = {"dora": ("lora_A", "lora_B", "lora_magnitude_vector"), "ia3": ("ia3_l",),
           "prefix": ("prompt_encoder",), "prompt": ("prompt_encoder",)}
HEAD = "classifier.modules_to_save"
LR = {"prompt": 0.3}  # Lester et al. train soft prompts with lr 0.3; the rest learns at 1e-2


def task_of(arch: str) -> str:
    return "classification" if arch == "bert" else "causal-lm"


def base(tiny_models, arch: str):
    """A freshly loaded tiny base in eval mode (dropout off, so outputs are deterministic)."""
    model = load_model(str(tiny_models[arch]), task_of(arch), label_names=LABELS if arch == "bert" else None)
    return model.eval()


def wrap(tiny_models, arch: str, case: str):
    """(base logits on the batch, the wrapped model, options)."""
    name, options = CASES[case]
    model = base(tiny_models, arch)
    with torch.no_grad():
        before = model(**inputs(arch)).logits
    opts = methods.parse_options(name, options)
    torch.manual_seed(0)
    return before, methods.get(name).apply(model, opts, task_of(arch)).eval(), opts


def inputs(arch: str, labels: bool = False) -> dict:
    """A fixed batch; causal LM labels are the inputs, the classifier's are (imbalanced) class ids."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 300, (4, 12), generator=gen)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if labels:
        batch["labels"] = torch.tensor([1, 1, 0, 1]) if arch == "bert" else ids
    return batch


def dims(cfg) -> dict[str, int]:
    """d, layers, key/value width, feed-forward width and the classifier head size."""
    d, heads = cfg.hidden_size, cfg.num_attention_heads
    kv = getattr(cfg, "num_key_value_heads", None) or heads
    ff = getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * d
    head = cfg.num_labels * d + cfg.num_labels if cfg.model_type == "bert" else 0
    return {"d": d, "L": cfg.num_hidden_layers, "kv": kv * (d // heads), "ff": ff, "head": head}


def expected_trainable(arch: str, case: str, cfg) -> int:
    """The closed-form trainable-parameter count for `case` on this architecture."""
    x = dims(cfg)
    d, L, kv, ff = x["d"], x["L"], x["kv"], x["ff"]
    _, o = CASES[case]
    if case == "dora":  # default 'qv' targets: (d_in, d_out) of each adapted matrix per layer
        mats = {"gpt2": [(d, 3 * d)], "llama": [(d, d), (d, kv)], "bert": [(d, d), (d, d)]}[arch]
        n = L * sum(o["r"] * (i + out) + out for i, out in mats)
    elif case == "ia3":  # d_out per attention target, d_in (= d_ff) for the feed-forward one
        per_layer = {"gpt2": 3 * d + ff, "llama": kv + kv + ff, "bert": d + d + ff}[arch]
        n = L * per_layer
    elif case == "prompt":
        n = o["num_virtual_tokens"] * d
    elif case == "prefix-flat":
        n = o["num_virtual_tokens"] * 2 * L * kv
    else:  # prefix through the MLP: embedding n×kv, Linear(kv→h), Tanh, Linear(h→2·L·kv)
        t, h = kv, o["encoder_hidden_size"]
        n = o["num_virtual_tokens"] * t + (t * h + h) + (h * 2 * L * t + 2 * L * t)
    return n + x["head"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("case", list(CASES))
def test_only_the_method_trains_and_counts_match(tiny_models, arch, case):
    _, model, _ = wrap(tiny_models, arch, case)
    allowed = ALLOWED[CASES[case][0]] + ((HEAD,) if arch == "bert" else ())
    trainable = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
    wrong = [n for n in trainable if not any(a in n for a in allowed)]
    assert not wrong, wrong
    if arch == "bert":
        assert any(HEAD in n for n in trainable), "the classifier head must train"
    assert sum(trainable.values()) == expected_trainable(arch, case, model.get_base_model().config)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("case", ["dora", "ia3"])
def test_output_at_init_equals_base(tiny_models, arch, case):
    before, model, _ = wrap(tiny_models, arch, case)
    with torch.no_grad():
        after = model(**inputs(arch)).logits
    torch.testing.assert_close(after, before, atol=1e-6, rtol=0)


def train(model, arch: str, case: str, steps: int = 20) -> tuple[float, float]:
    """AdamW on a fixed batch; (loss before, loss after), both measured in eval mode."""
    batch = inputs(arch, labels=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR.get(CASES[case][0], 1e-2))
    with torch.no_grad():
        first = model(**batch).loss.item()
    model.train()
    for _ in range(steps):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        last = model(**batch).loss.item()
    return first, last


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("case", list(CASES))
def test_trains_saves_reloads_and_merges(tiny_models, tmp_path, arch, case):
    _, model, _ = wrap(tiny_models, arch, case)
    start = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    first, last = train(model, arch, case)
    assert last < first, (first, last)
    unmoved = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, start[n])]
    assert not unmoved, f"no gradient reached {unmoved}"

    batch = inputs(arch)
    with torch.no_grad():
        trained = model(**batch).logits
    model.save_pretrained(tmp_path / "adapter")
    reloaded = load_method_weights(base(tiny_models, arch), tmp_path / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, trained, atol=1e-6, rtol=0)

    method = methods.get(CASES[case][0])
    assert method.peft_native and method.description
    if not method.mergeable:
        assert method.merge is None
        return
    merged = method.merge(model)
    assert not any(k in n for n, _ in merged.named_parameters() for k in ("lora_", "ia3_", "modules_to_save"))
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch).logits, trained, atol=1e-4, rtol=0)


@pytest.mark.parametrize("case", list(CASES))
def test_resume_from_a_checkpoint_restores_every_trainable_tensor(tiny_models, tmp_path, case):
    from studio.methods import prefix

    _, model, _ = wrap(tiny_models, "bert", case)
    train(model, "bert", case, steps=3)
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    model.save_pretrained(tmp_path)  # what the Trainer's checkpoint holds
    wrote = prefix.save_training_state(model, tmp_path)
    assert wrote == (case == "prefix")  # only the projected prefix needs more than PEFT's files

    _, fresh, _ = wrap(tiny_models, "bert", case)
    if not prefix.load_training_state(fresh, tmp_path):
        fresh.load_adapter(str(tmp_path), "default", is_trainable=True)  # the Trainer's resume
    now = {n: p for n, p in fresh.named_parameters() if p.requires_grad}
    assert set(now) == set(trained)
    for n, p in now.items():
        torch.testing.assert_close(p, trained[n], atol=0, rtol=0, msg=n)


def test_prompt_text_init_uses_the_model_tokenizer(tiny_models):
    from tests.tiny import tiny_tokenizer

    text = "positive negative"
    opts = methods.parse_options("prompt", {"num_virtual_tokens": 6, "init": "text", "init_text": text})
    model = methods.get("prompt").apply(base(tiny_models, "gpt2"), opts, "causal-lm")
    ids = tiny_tokenizer()(text)["input_ids"]
    ids = (ids * 6)[:6]  # peft repeats a short text up to the prompt length
    words = model.get_input_embeddings().weight[ids]
    torch.testing.assert_close(model.prompt_encoder["default"].embedding.weight, words)


def test_prompt_text_init_without_tokenizer_is_a_clear_error(tiny_models, tmp_path):
    model = base(tiny_models, "gpt2")
    model.name_or_path = str(tmp_path)  # a folder with no tokenizer files
    opts = methods.parse_options("prompt", {"init": "text", "init_text": "hello"})
    with pytest.raises(ConfigError, match="tokenizer"):
        methods.get("prompt").apply(model, opts, "causal-lm")


def test_ia3_uses_the_papers_placement_on_bert(tiny_models):
    _, model, _ = wrap(tiny_models, "bert", "ia3")
    scaled = sorted({n.split(".layer.0.")[1].rsplit(".ia3_l", 1)[0]
                     for n, _ in model.named_parameters() if "ia3_l" in n and ".layer.0." in n})
    # Keys and values at their output, the FFN hidden activation at output.dense's input; not
    # attention.output.dense (peft's suffix match would add it, repeating the value scaling).
    assert scaled == ["attention.self.key", "attention.self.value", "output.dense"]


def test_ia3_explicit_modules_and_unknown_families(tiny_models):
    opts = methods.parse_options("ia3", {"target_modules": ["v_proj", "down_proj"],
                                         "feedforward_modules": ["down_proj"]})
    model = methods.get("ia3").apply(base(tiny_models, "llama"), opts, "causal-lm")
    scaled = {n.split(".")[-3] for n, p in model.named_parameters() if p.requires_grad}
    assert scaled == {"v_proj", "down_proj"}

    plain = base(tiny_models, "llama")
    plain.config.model_type = "no-such-family"
    with pytest.raises(ConfigError, match="target_modules"):
        methods.get("ia3").apply(plain, methods.parse_options("ia3", {}), "causal-lm")


def test_prompt_on_a_decoder_classifier_reads_the_last_real_token(tiny_models):
    # PEFT feeds the classifier inputs_embeds, so transformers cannot see the padding; without the
    # hook a right-padded example is classified from a pad position.
    model = load_model(str(tiny_models["llama"]), "classification", label_names=LABELS).eval()
    model.config.pad_token_id = 0
    opts = methods.parse_options("prompt", {"num_virtual_tokens": 4})
    model = methods.get("prompt").apply(model, opts, "classification").eval()
    ids = inputs("llama")["input_ids"][:1, :8]
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    mask = torch.cat([torch.ones(1, 8), torch.zeros(1, 4)], 1).long()
    with torch.no_grad():
        alone = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        in_batch = model(input_ids=padded, attention_mask=mask).logits
    torch.testing.assert_close(in_batch, alone, atol=1e-6, rtol=0)
