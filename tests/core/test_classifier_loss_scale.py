"""A classifier's loss is the batch mean: with gradient accumulation the logged loss (and the
gradient) must not be multiplied by the accumulation steps, nor under DDP by the process count.

transformers assumes a model whose forward takes **kwargs divides its loss by num_items_in_batch;
sequence classifiers take **kwargs and ignore it. Before the fix a 2-class classifier trained with
accumulation 2 logged ~1.4 (2 × ln 2) where the same rows in one batch logged ~0.7."""
from __future__ import annotations

from transformers import TrainerCallback

from studio.config import RunConfig
from studio.core.train import NullReporter, run_training
from studio.core.trainer import returns_batch_mean_loss
from tests.conftest import write_jsonl


class FirstLoss(NullReporter):
    def __init__(self):
        self.losses: list[float] = []
        self.accepts: list[bool] = []
        recorder = self

        class _Log(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    recorder.losses.append(float(logs["loss"]))

        self.callbacks = [_Log()]


def _no_dropout(bert, folder):
    import json
    import shutil

    shutil.copytree(bert, folder, dirs_exist_ok=True)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def _first_loss(tmp_path, bert, accumulation: int, batch: int) -> float:
    # One text per label, each the same length: any order gives the same rows to every optimizer step.
    rows = [{"text": "good item here", "label": "pos"}, {"text": "bad thing here", "label": "neg"}] * 8
    cfg = RunConfig.from_dict({
        "name": "c", "task": "classification", "model": str(bert),
        "data": {"train": str(write_jsonl(tmp_path / "labels.jsonl", rows)), "max_length": 16},
        "method": {"name": "lora", "dropout": 0.0},
        "training": {"max_steps": 1, "batch_size": batch, "gradient_accumulation": accumulation,
                     "learning_rate": 1e-9, "logging_steps": 1, "save_steps": 100, "eval_steps": 100,
                     "seed": 0, "device": "cpu", "packing": "off"}})
    reporter = FirstLoss()
    run_training(cfg, tmp_path / f"run-{accumulation}", tmp_path / "models", reporter=reporter)
    return reporter.losses[0]


def test_accumulated_classifier_loss_is_the_mean_not_times_the_steps(tmp_path, tiny_models):
    bert = _no_dropout(tiny_models["bert"], tmp_path / "bert")
    whole = _first_loss(tmp_path, bert, accumulation=1, batch=4)
    accumulated = _first_loss(tmp_path, bert, accumulation=2, batch=2)
    assert abs(accumulated / whole - 1) < 0.05, (whole, accumulated)  # the bug read 2.0


def test_classifiers_are_recognised_through_peft_and_causal_lms_are_not(tiny_models):
    import peft
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    classifier = AutoModelForSequenceClassification.from_pretrained(tiny_models["bert"], num_labels=2)
    assert returns_batch_mean_loss(classifier)
    lora = peft.LoraConfig(task_type="SEQ_CLS", r=2, target_modules=["query"])
    assert returns_batch_mean_loss(peft.get_peft_model(classifier, lora))
    lm = AutoModelForCausalLM.from_pretrained(tiny_models["gpt2"])
    assert not returns_batch_mean_loss(lm)
    assert not returns_batch_mean_loss(peft.get_peft_model(lm, peft.LoraConfig(r=2, target_modules=["c_attn"])))
