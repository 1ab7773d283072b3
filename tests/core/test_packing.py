"""Padding-free packing: a packed batch gives each example exactly the logits and loss it gets alone,
the traps (attention_mask, cache) are guarded, models that cannot pack fall back to length-grouped
batches with one line saying so, and a packed run trains and counts tokens like a padded one."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, TrainerCallback

from studio import methods
from studio.config import RunConfig
from studio.core.packing import PackedCollator, apply_plan, batch_collator, packing_check, plan_batches
from studio.core.tokenize import CausalCollator, IGNORE_INDEX
from studio.core.train import NullReporter, run_training
from tests.conftest import write_jsonl

pytestmark = pytest.mark.usefixtures("one_thread_seeded")


def _model(folder, impl="sdpa"):
    return AutoModelForCausalLM.from_pretrained(folder, attn_implementation=impl).eval()


def _features():
    """Three examples of different lengths with answer-only labels (-100 on the prompt)."""
    g = torch.Generator().manual_seed(0)
    out = []
    for n, prompt in ((9, 4), (5, 2), (12, 7)):
        ids = torch.randint(5, 300, (n,), generator=g).tolist()
        out.append({"input_ids": ids, "attention_mask": [1] * n,
                    "labels": [IGNORE_INDEX] * prompt + ids[prompt:]})
    return out


def _example_loss(logits, labels):
    """Mean next-token cross-entropy of one example (as the model's own loss computes it)."""
    return F.cross_entropy(logits[:-1].float(), torch.tensor(labels[1:]), ignore_index=IGNORE_INDEX)


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_packed_batch_gives_each_example_its_own_logits_and_loss(tiny_models, impl):
    model = _model(tiny_models["llama"], impl)
    feats = _features()
    batch = PackedCollator()(feats)
    assert "attention_mask" not in batch and batch["use_cache"] is False
    assert batch["input_ids"].shape == (1, sum(len(f["input_ids"]) for f in feats))
    with torch.no_grad():
        packed = model(**batch)
        alone = [model(input_ids=torch.tensor([f["input_ids"]]), labels=torch.tensor([f["labels"]]))
                 for f in feats]
    at = 0
    for f, out in zip(feats, alone):
        n = len(f["input_ids"])
        torch.testing.assert_close(packed.logits[0, at:at + n], out.logits[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(_example_loss(packed.logits[0, at:at + n], f["labels"]), out.loss,
                                   atol=1e-5, rtol=1e-5)
        # The answer-only labels survive; only the first label of each example becomes -100.
        assert batch["labels"][0, at:at + n].tolist() == [IGNORE_INDEX] + f["labels"][1:]
        at += n
    # The batch loss is the token mean over all examples, as a padded batch's is.
    padded = CausalCollator(pad_id=0)(feats)
    with torch.no_grad():
        padded_loss = model(**padded).loss
    torch.testing.assert_close(packed.loss, padded_loss, atol=1e-5, rtol=1e-5)


def test_the_traps_are_real_and_the_collator_avoids_them(tiny_models):
    """Passing an all-ones attention_mask, or leaving use_cache on, makes packed examples attend
    across the seam (transformers 5.23); the collator's batch does neither."""
    model = _model(tiny_models["llama"])
    feats = _features()[:2]
    batch = PackedCollator()(feats)
    n = len(feats[0]["input_ids"])
    with torch.no_grad():
        second_alone = model(input_ids=torch.tensor([feats[1]["input_ids"]])).logits[0]
        good = model(**batch).logits[0, n:]
        masked = model(**{**batch, "attention_mask": torch.ones_like(batch["input_ids"])}).logits[0, n:]
        cached = model(**{**batch, "use_cache": True}).logits[0, n:]
    torch.testing.assert_close(good, second_alone, atol=1e-5, rtol=1e-5)
    assert (masked - second_alone).abs().max() > 1e-3
    assert (cached - second_alone).abs().max() > 1e-3


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_llama_and_gpt2_honour_packing(tiny_models, arch, impl):
    # Measured with transformers 5.23: GPT-2 builds its mask with create_causal_mask and takes its
    # absolute positions from position_ids, so it packs as Llama does.
    ok, why = packing_check(_model(tiny_models[arch], impl))
    assert ok, why


def test_the_check_passes_in_half_precision_and_still_catches_a_leak(tiny_models):
    model = _model(tiny_models["llama"]).to(torch.bfloat16)
    ok, why = packing_check(model)
    assert ok, why
    ok, why = packing_check(_IgnoresPositions(model))
    assert not ok and "see each other" in why


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_packing_on_cuda(tiny_models, dtype):
    model = _model(tiny_models["llama"]).to("cuda", dtype)
    ok, why = packing_check(model)
    assert ok, why
    feats = _features()
    batch = {k: v.to("cuda") if hasattr(v, "to") else v for k, v in PackedCollator()(feats).items()}
    with torch.no_grad():
        packed = model(**batch).logits[0].float()
        alone = torch.cat([model(input_ids=torch.tensor([f["input_ids"]], device="cuda")).logits[0].float()
                           for f in feats])
    tol = 1e-4 if dtype == torch.float32 else 5e-2
    torch.testing.assert_close(packed, alone, atol=tol, rtol=tol)


def test_check_leaves_train_mode_and_the_rng_alone(tiny_models):
    model = _model(tiny_models["llama"]).train()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    packing_check(model)
    assert torch.equal(torch.rand(3), expected)
    assert all(m.training for m in model.modules())


class _IgnoresPositions(torch.nn.Module):
    """A model that numbers positions itself (drops position_ids): packed examples leak."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, inner.config

    def get_input_embeddings(self):
        return self.inner.get_input_embeddings()

    def forward(self, position_ids=None, **kw):
        return self.inner(**kw)


def test_a_model_that_ignores_position_ids_falls_back_to_length_grouped_batches(tiny_models, capsys):
    model = _IgnoresPositions(_model(tiny_models["llama"]))
    auto = plan_batches("auto", "causal-lm", model)
    assert (auto.packed, auto.sampling, auto.warning) == (False, "group_by_length", None)
    assert "cannot pack" in auto.line and "length-grouped" in auto.line
    on = plan_batches("on", "causal-lm", model)
    assert not on.packed and on.warning.startswith("training.packing is 'on', but")


@pytest.mark.parametrize("method", ["prefix", "prompt"])
def test_prefix_and_prompt_tuning_cannot_pack(tiny_models, method):
    """PEFT's prompt-learning methods pass a cache or their own positions: the check sees it."""
    model = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    model = methods.get(method).apply(model, methods.parse_options(method, {}), "causal-lm")
    ok, why = packing_check(model)
    assert not ok, why


def test_lora_model_packs_and_plans(tiny_models):
    model = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    model = methods.get("lora").apply(model, methods.parse_options("lora", {}), "causal-lm")
    plan = plan_batches("auto", "causal-lm", model)
    assert (plan.packed, plan.sampling, plan.warning) == (True, "random", None)
    assert plan.line.startswith("packing: on")
    assert isinstance(batch_collator(plan, None, "causal-lm"), PackedCollator)


def test_off_and_classification_plans_need_no_model():
    off = plan_batches("off", "causal-lm", None)
    assert (off.packed, off.sampling, off.warning) == (False, "random", None)
    cls = plan_batches("auto", "classification", None)
    assert (cls.packed, cls.sampling, cls.warning) == (False, "group_by_length", None)
    assert "length-grouped" in cls.line
    assert "causal-LM" in plan_batches("on", "classification", None).warning


def test_apply_plan_counts_every_token_of_a_packed_row():
    from types import SimpleNamespace

    args = apply_plan(plan_batches("off", "causal-lm", None), SimpleNamespace())
    assert (args.train_sampling_strategy, args.include_num_input_tokens_seen) == ("random", "non_padding")
    packed = plan_batches("off", "causal-lm", None)
    packed.packed = True
    assert apply_plan(packed, SimpleNamespace()).include_num_input_tokens_seen == "all"


class _Seen(TrainerCallback):
    def __init__(self):
        self.losses, self.tokens, self.args = [], 0, None

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            self.losses.append(logs["loss"])

    def on_train_end(self, args, state, control, **kw):
        self.tokens, self.args = state.num_input_tokens_seen, args


class _Reporter(NullReporter):
    def __init__(self):
        self.seen, self.stop_reason, self.warnings = _Seen(), None, []
        self.callbacks = [self.seen]

    def warn(self, messages):
        self.warnings += messages


def _run(tmp_path, model, packing, **data):
    rows = [{"instruction": "Say it " + "again " * (i % 7), "input": "", "output": f"Number {i}."}
            for i in range(60)]  # > 50 rows: a validation split, evaluated at steps 0, 2 and 4
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    cfg = RunConfig.from_dict({
        "name": "p", "task": "causal-lm", "model": str(model), "data": {"train": str(train), "max_length": 96},
        "method": {"name": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
        "training": {"max_steps": 4, "batch_size": 6, "learning_rate": 1e-3, "save_steps": 100,
                     "eval_steps": 2, "seed": 0, "device": "cpu", "packing": packing}})
    reporter = _Reporter()
    outcome = run_training(cfg, tmp_path / packing, tmp_path / "models", reporter=reporter)
    assert outcome.status == "completed"
    reporter.outcome = outcome
    return reporter


def _pad_is_end_of_turn(folder, target):
    """A copy of a tiny model whose tokenizer pads with its end-of-turn token, as chat models often do
    (SmolLM2-Instruct pads with <|im_end|>)."""
    import shutil

    from transformers import AutoTokenizer

    shutil.copytree(folder, target)
    tok = AutoTokenizer.from_pretrained(target)
    tok.pad_token = "<|end|>"
    tok.save_pretrained(target)
    return target


def test_a_packed_run_trains_and_counts_like_a_padded_one(tiny_models, tmp_path, capsys):
    # Every example ends with the pad token: counting "tokens that are not the pad id" would miss one
    # real token per example, so this also proves the packed count is of real tokens.
    model = _pad_is_end_of_turn(tiny_models["llama"], tmp_path / "llama-pad-end")
    packed = _run(tmp_path, model, "on")
    assert "packing: on" in capsys.readouterr().err
    padded = _run(tmp_path, model, "off")
    assert "packing: off" in capsys.readouterr().err
    # Same seed and sampler: the same examples, so the same real tokens and (to round-off) the same losses.
    assert packed.seen.tokens == padded.seen.tokens > 0
    assert packed.seen.args.include_num_input_tokens_seen == "all"
    assert padded.seen.args.train_sampling_strategy == "random"
    assert len(packed.seen.losses) == len(padded.seen.losses) == 4
    assert packed.seen.losses == pytest.approx(padded.seen.losses, rel=1e-4)
    # Evaluation runs on packed rows too, with the same loss.
    for which in ("first_metrics", "final_metrics"):
        assert getattr(packed.outcome, which)["eval_loss"] == pytest.approx(
            getattr(padded.outcome, which)["eval_loss"], rel=1e-5)
    assert not [w for w in packed.warnings + padded.warnings if "packing" in w]


def test_classification_runs_get_length_grouped_batches(tiny_models, tmp_path, capsys):
    rows = [{"text": "word " * (1 + i % 9), "label": "a" if i % 2 else "b"} for i in range(16)]
    train = write_jsonl(tmp_path / "cls.jsonl", rows)
    cfg = RunConfig.from_dict({
        "name": "c", "task": "classification", "model": str(tiny_models["bert"]),
        "data": {"train": str(train), "max_length": 32}, "method": {"name": "lora", "r": 4, "alpha": 8},
        "training": {"max_steps": 2, "batch_size": 4, "save_steps": 100, "eval_steps": 100, "device": "cpu",
                     "packing": "on"}})
    reporter = _Reporter()
    assert run_training(cfg, tmp_path / "c", tmp_path / "models", reporter=reporter).status == "completed"
    assert reporter.seen.args.train_sampling_strategy == "group_by_length"
    assert reporter.seen.tokens > 0
    assert "length-grouped" in capsys.readouterr().err
    assert any(w.startswith("training.packing is 'on', but packing is for causal-LM") for w in reporter.warnings)


def test_auto_packs_ragged_data_but_not_equal_lengths(tiny_models):
    import math
    import random

    model = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    rng = random.Random(0)
    ragged = [int(min(128, max(16, rng.lognormvariate(math.log(32), 0.8)))) for _ in range(64)]
    packed = plan_batches("auto", "causal-lm", model, ragged, 8)
    assert packed.packed and "x the compute of random padded batches" in packed.line
    even = plan_batches("auto", "causal-lm", model, [128] * 64, 8)
    assert (even.packed, even.sampling, even.warning) == (False, "group_by_length", None)
    assert "would not pay" in even.line
    # Asked for explicitly, packing is honoured wherever the model can pack.
    assert plan_batches("on", "causal-lm", model, [128] * 64, 8).packed
