"""Prefix tuning on an encoder classifier keeps the real tokens at the positions the model was
trained with ([CLS] at 0); a decoder's prefix stays 'earlier text', as in Li & Liang."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from studio import methods  # noqa: E402
from studio.core.models import load_model  # noqa: E402
from studio.methods.prefix import keep_encoder_positions  # noqa: E402
from studio.methods.saving import load_method_weights  # noqa: E402

OPTIONS = {"num_virtual_tokens": 5, "encoder_hidden_size": 16}


def _bert(tiny_models):
    return load_model(str(tiny_models["bert"]), "classification", label_names=["neg", "pos"]).eval()


def _embedded(model, ids):
    """What the model's embedding layer hands to its first block for `ids` (captured by a hook)."""
    seen = []
    handle = model.get_base_model().base_model.embeddings.register_forward_hook(
        lambda module, args, out: seen.append(out.detach().clone()))
    with torch.no_grad():
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    handle.remove()
    return seen[-1]


def test_prefix_leaves_an_encoders_token_embeddings_as_without_it(tiny_models, tmp_path):
    ids = torch.randint(5, 300, (3, 10), generator=torch.Generator().manual_seed(0))
    base = _bert(tiny_models)
    with torch.no_grad():
        plain = base.base_model.embeddings(input_ids=ids)  # positions 0..9, as in pretraining
    model = methods.get("prefix").apply(_bert(tiny_models), methods.parse_options("prefix", OPTIONS),
                                        "classification").eval()
    # Without the fix PEFT's prefix cache shifts every position by 5: the embeddings differ.
    torch.testing.assert_close(_embedded(model, ids), plain, atol=0, rtol=0)
    # A saved prefix loaded onto a fresh base reads the tokens the same way it was trained.
    model.save_pretrained(tmp_path / "adapter")
    loaded = load_method_weights(_bert(tiny_models), tmp_path / "adapter").eval()
    torch.testing.assert_close(_embedded(loaded, ids), plain, atol=0, rtol=0)
    with torch.no_grad():
        mask = torch.ones_like(ids)
        torch.testing.assert_close(loaded(input_ids=ids, attention_mask=mask).logits,
                                   model(input_ids=ids, attention_mask=mask).logits)


def test_decoders_keep_the_prefix_as_earlier_text(tiny_models):
    model = load_model(str(tiny_models["gpt2"]), "causal-lm")
    assert keep_encoder_positions(model) is False


def test_hooking_twice_adds_one_hook(tiny_models):
    model = _bert(tiny_models)
    embeddings = model.base_model.embeddings
    assert keep_encoder_positions(model) and keep_encoder_positions(model)
    assert len(embeddings._forward_pre_hooks) == 1


def test_hot_swapped_prefix_classifier_predicts_as_a_fresh_load(tiny_models, tmp_path):
    import json

    from bench.compare import make_adapter
    from studio.core.compare import Comparer
    from studio.core.generate import load_with_adapter

    base = tiny_models["bert"]
    labels = ["neg", "pos"]
    folder = make_adapter(base, tmp_path / "prefix", "prefix", task="classification", labels=labels,
                          options=OPTIONS, seed=1, scale=0.5)
    texts = [f"text {i} {'sports' if i % 2 else 'food'}" for i in range(8)]
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": labels[i % 2]}) + "\n" for i, t in enumerate(texts)))
    c = Comparer(str(base), "classification", device="cpu", models_dir=tmp_path / "models", labels=labels)
    c.add("prefix", folder)
    swapped = c.evaluate(data)["predictions"]["prefix"]
    model, tok = load_with_adapter(folder)
    with torch.no_grad():
        logits = model(**tok(texts, return_tensors="pt", padding=True)).logits
    assert swapped == [labels[i] for i in logits.argmax(-1).tolist()]
    assert model.get_base_model().base_model.embeddings._studio_positions_from_zero
