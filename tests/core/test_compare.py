"""The comparer: one base load, adapters hot-swapped exactly (PEFT and ours mixed), metrics per column."""
from __future__ import annotations

import json

import pytest
import torch

from bench.compare import make_adapter
from studio.core.compare import BASE, Comparer, GenSettings, base_mismatch, macro_f1, read_adapter
from studio.core.generate import generate, load_with_adapter
from studio.methods.adapter_layers import ADAPTER, SHARED_RULE

PROMPTS = ["The quick brown fox", "What is the capital of France?"]
LABELS = ["neg", "pos"]
SMALL = {"compacter": {"size": 8, "n": 2}, "houlsby": {"size": 8}, "pfeiffer": {"size": 8}}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices only lose time to thread hand-offs on a busy machine
    yield
    torch.set_num_threads(threads)


def adapters_for(tmp, base, names, task="causal-lm", labels=None) -> dict:
    """Adapters by name; 'lora-b' is a second lora (another seed)."""
    out = {}
    for i, name in enumerate(names):
        m = name.split("-")[0]
        out[name] = make_adapter(base, tmp / name, m, task=task, labels=labels, options=SMALL.get(m), seed=i + 1,
                                 scale=0.5)
    return out


@pytest.fixture(scope="module")
def gpt2(tiny_models, tmp_path_factory):
    """Tiny gpt2 with two PEFT LoRAs, an IA3 (another PEFT type), two of our houlsby and a bitfit."""
    return tiny_models["gpt2"], adapters_for(tmp_path_factory.mktemp("gpt2-adapters"), tiny_models["gpt2"],
                                             ["lora", "houlsby", "ia3", "bitfit", "lora-b", "houlsby-b"])


def comparer(base, adapters, **kw) -> Comparer:
    c = Comparer(str(base), kw.pop("task", "causal-lm"), device="cpu", models_dir=base.parent / "models", **kw)
    for name, folder in adapters.items():
        c.add(name, folder)
    return c


def fresh_outputs(folder, c: Comparer, settings: GenSettings) -> list[str]:
    model, tokenizer = load_with_adapter(folder)
    return [generate(model, tokenizer, c.render(p), settings.max_new_tokens) for p in PROMPTS]


def test_grid_has_a_column_per_adapter_plus_base_and_loads_the_base_once(gpt2):
    base, adapters = gpt2
    c = comparer(base, adapters)
    rows = c.generate_grid(PROMPTS, GenSettings(max_new_tokens=6))
    assert c.base_loads == 1 and c.timings()["base_load_s"] > 0
    assert [r["prompt"] for r in rows] == PROMPTS
    assert all(list(r["outputs"]) == [BASE, *adapters] for r in rows)  # N + 1 columns
    # One swap per column, not per cell, in the order that swaps least: base, ours, PEFT by type.
    assert [s["to"] for s in c.swaps] == [BASE, "houlsby", "bitfit", "houlsby-b", "ia3", "lora", "lora-b"]
    assert all(s["first_load"] for s in c.swaps[1:])
    # The adapters really change what the model says, so the exactness checks below mean something.
    assert any(r["outputs"][m] != r["outputs"][BASE] for r in rows for m in ("lora", "houlsby"))


def test_every_hot_swapped_column_equals_a_fresh_load_of_that_adapter(gpt2):
    base, adapters = gpt2
    c = comparer(base, adapters)
    settings = GenSettings(max_new_tokens=6)
    rows = c.generate_grid(PROMPTS, settings)
    for name, folder in adapters.items():
        assert [r["outputs"][name] for r in rows] == fresh_outputs(folder, c, settings), name


def test_swapping_back_and_forth_is_identical_and_restores_the_base_bit_exactly(gpt2):
    base, adapters = gpt2
    c = comparer(base, adapters)
    before = {n: p.detach().clone() for n, p in c.base.named_parameters()}
    settings = GenSettings(max_new_tokens=6)
    first = c.generate_grid(PROMPTS, settings)
    again = c.generate_grid(PROMPTS, settings, columns=list(reversed(c.columns)))
    assert [r["outputs"] for r in first] == [{k: r["outputs"][k] for k in c.columns} for r in again]
    loaded = len(c.swaps)
    for name in ("lora", "lora-b", "houlsby", "houlsby-b", "lora", "houlsby-b", "houlsby"):
        c.activate(name)  # hot swaps between loaded adapters of one kind give each one's own outputs
        assert [r["outputs"][name] for r in c.generate_grid(PROMPTS, settings, [name])] == \
            [r["outputs"][name] for r in first]
    assert not any(s["first_load"] for s in c.swaps[loaded:])  # nothing read from disk again
    c.activate("bitfit")  # ours last: detaching it must leave every base tensor as loaded
    c.activate(BASE)
    assert all(torch.equal(c._originals[n], t) for n, t in before.items())
    assert not any(ADAPTER in dict(m.named_children()) or SHARED_RULE in dict(m.named_children())
                   for m in c.base.modules())
    assert c.base_loads == 1


def test_ours_attached_under_a_peft_wrapper_survives_another_peft_type_replacing_it(gpt2):
    base, adapters = gpt2
    c = comparer(base, {k: adapters[k] for k in ("ia3", "houlsby", "lora")})
    settings = GenSettings(max_new_tokens=6)
    expected = fresh_outputs(adapters["houlsby"], c, settings)
    # IA3 wraps the FFN projection houlsby hangs from; LoRA then replaces the IA3 wrapper.
    for name in ("ia3", "houlsby", "lora", "houlsby"):
        c.activate(name)
    assert [r["outputs"]["houlsby"] for r in c.generate_grid(PROMPTS, settings, ["houlsby"])] == expected


def test_llama_mixes_peft_types_and_our_structural_adapters(tiny_models, tmp_path):
    base = tiny_models["llama"]
    adapters = adapters_for(tmp_path, base, ["compacter", "ia3", "top_k", "lora", "pfeiffer"])
    c = comparer(base, adapters)
    settings = GenSettings(max_new_tokens=5)
    rows = c.generate_grid(PROMPTS, settings)
    for name, folder in adapters.items():
        assert [r["outputs"][name] for r in rows] == fresh_outputs(folder, c, settings), name
    assert c.generate_grid(PROMPTS, settings, [BASE])[0]["outputs"][BASE] == rows[0]["outputs"][BASE]


def test_sampling_with_a_fixed_seed_does_not_depend_on_column_order(gpt2):
    base, adapters = gpt2
    c = comparer(base, {k: adapters[k] for k in ("lora", "houlsby")})
    s = GenSettings(max_new_tokens=8, sample=True, temperature=1.5, top_p=0.9, seed=3)
    a = c.generate_grid(PROMPTS, s)
    b = c.generate_grid(PROMPTS, s, columns=list(reversed(c.columns)))
    assert [r["outputs"] for r in a] == [{k: r["outputs"][k] for k in c.columns} for r in b]


def test_causal_eval_loss_counts_answer_tokens_like_the_model_loss(gpt2, tmp_path):
    base, adapters = gpt2
    rows = [{"instruction": f"Double {i}.", "input": "", "output": f"The answer is {2 * i}."} for i in range(5)]
    data = tmp_path / "held_out.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = comparer(base, {"houlsby": adapters["houlsby"]})
    result = c.evaluate(data, batch_size=8)  # one batch: its mean loss is the model's own loss
    m = result["metrics"]
    assert list(m) == [BASE, "houlsby"] and result["rows"] == 5
    assert all(v["tokens"] > 0 and v["perplexity"] == pytest.approx(2.718281828 ** v["eval_loss"])
               for v in m.values())

    from studio.core.tokenize import make_collator, tokenize_rows

    model, tok = load_with_adapter(adapters["houlsby"])
    ds, _ = tokenize_rows(rows, "instruction", tok, max_length=256)
    batch = make_collator(tok, "causal-lm")([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        expected = float(model(**batch).loss)
    assert m["houlsby"]["eval_loss"] == pytest.approx(expected, rel=1e-5)
    assert m["houlsby"]["eval_loss"] != m[BASE]["eval_loss"]


def test_classifiers_side_by_side_predictions_accuracy_and_f1(tiny_models, tmp_path):
    base = tiny_models["bert"]
    adapters = adapters_for(tmp_path, base, ["lora", "houlsby"], task="classification", labels=LABELS)
    texts = [f"text {i} {'sports' if i % 2 else 'food'}" for i in range(10)]
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": LABELS[i % 2]}) + "\n" for i, t in enumerate(texts)))
    c = comparer(base, adapters, task="classification", labels=LABELS)
    result = c.evaluate(data)
    assert result["gold"] == [LABELS[i % 2] for i in range(10)]
    for name, folder in adapters.items():
        model, tok = load_with_adapter(folder)
        with torch.no_grad():
            ids = model(**tok(texts, return_tensors="pt", padding=True)).logits.argmax(-1).tolist()
        assert result["predictions"][name] == [LABELS[i] for i in ids], name
        expected = sum(p == g for p, g in zip(result["predictions"][name], result["gold"])) / 10
        assert result["metrics"][name] == {"accuracy": expected,
                                           "macro_f1": macro_f1(result["gold"], result["predictions"][name])}
    cells = c.generate_grid(["sports", "food"])[0]["outputs"]
    assert list(cells) == [BASE, "lora", "houlsby"] and all(v.split()[0] in LABELS for v in cells.values())


def test_adapters_of_another_task_base_or_label_set_are_refused(gpt2, tiny_models, tmp_path):
    base, adapters = gpt2
    c = comparer(base, {})
    bert = make_adapter(tiny_models["bert"], tmp_path / "cls", "bitfit", task="classification", labels=LABELS)
    with pytest.raises(ValueError, match="classification adapter"):
        c.add("cls", bert)
    with pytest.raises(ValueError, match="reserved"):
        c.add(BASE, adapters["lora"])
    info = read_adapter("lora", adapters["lora"])
    assert info.peft_type == "LORA" and info.method == "lora" and info.task == "causal-lm"
    assert base_mismatch(str(base), str(base), info) is None
    assert "not on --base" in base_mismatch("llama", str(tiny_models["llama"]), info)
    other = comparer(tiny_models["bert"], {}, task="classification", labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="labels"):
        other.add("cls", bert)


def test_macro_f1_matches_the_textbook_values():
    assert macro_f1(["a", "a", "b", "b"], ["a", "a", "b", "b"]) == 1.0
    assert macro_f1(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx((2 / 3 + 0.8) / 2)
    assert macro_f1(["a", "a"], ["b", "b"]) == 0.0
