"""The ULMFiT recipe in real (tiny) runs: every param group's LR is the wizard's number at every
step, frozen layer groups stay bit-identical and gradient-free, resuming restores the stage, and
the config keys load, validate and round-trip."""
from __future__ import annotations

import math

import pytest
import torch
from transformers import TrainerCallback

from studio.config import ConfigError, RunConfig, dump_config, load_config
from studio.core import schedules
from studio.core.train import NullReporter, run_training
from tests.conftest import instruction_rows, write_jsonl

ULMFIT = {"discriminative_decay": 2.6, "gradual_unfreezing": True, "unfreeze_every": 2}
GPT2_GROUPS = ["embeddings", "block 0", "block 1", "head"]  # full fine-tuning of the tiny gpt2
LORA_GROUPS = ["block 0", "block 1"]  # LoRA trains matrices inside the blocks only


def _cfg(tmp_path, model, method, rows=40, **training):
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(rows))  # <= 50 rows: no eval split
    t = {"max_steps": 8, "batch_size": 4, "learning_rate": 1e-3, "save_steps": 100, "eval_steps": 100,
         "seed": 0, "device": "cpu", **training}
    return RunConfig.from_dict({"name": "u", "task": "causal-lm", "model": str(model),
                                "data": {"train": str(data), "max_length": 32}, "method": method,
                                "training": t})


class Reporter(NullReporter):
    def __init__(self, *callbacks):
        self.callbacks = list(callbacks)
        self.stop_reason = None


class Probe(TrainerCallback):
    """Checks, at every optimizer step, LRs, gradients and frozen weights against the schedule."""

    def __init__(self, cfg, n_train, group_names):
        t = cfg.training
        self.group_names = group_names
        per_epoch = schedules.optimizer_steps_per_epoch(n_train, t.batch_size, t.gradient_accumulation)
        self.expected = lambda step: schedules.group_learning_rates(
            step, t.max_steps, t.learning_rate, len(group_names), **schedules.schedule_spec(t),
            steps_per_epoch=per_epoch)
        self.every = schedules.unfreeze_interval(t.ulmfit.gradual_unfreezing, t.ulmfit.unfreeze_every, per_epoch)
        self.initial, self.names, self.model, self.steps, self.moved = {}, {}, None, [], set()

    def _groups(self, optimizer):
        """layer group -> its parameter names, from the optimizer's tags (bottom to top)."""
        groups: dict[str, list[str]] = {}
        for g in optimizer.param_groups:
            groups.setdefault(g["layer_group"], []).extend(self.names[id(p)] for p in g["params"])
        assert list(groups) == self.group_names
        return groups

    def on_train_begin(self, args, state, control, model=None, **kw):
        self.model = model
        self.names = {id(p): n for n, p in model.named_parameters()}
        self.initial = {n: p.detach().clone() for n, p in model.named_parameters()}

    def _training(self, step):
        n = len(self.group_names)
        return [i >= n - schedules.unfrozen_groups(step, n, self.every) for i in range(n)]

    def on_pre_optimizer_step(self, args, state, control, model=None, optimizer=None, **kw):
        params = dict(model.named_parameters())
        for (group, names), training in zip(self._groups(optimizer).items(), self._training(state.global_step)):
            for n in names:
                assert params[n].requires_grad == training, (state.global_step, group, n)
                assert (params[n].grad is not None) == training, (state.global_step, group, n)

    def on_optimizer_step(self, args, state, control, model=None, optimizer=None, **kw):
        step = state.global_step  # not yet incremented: the step just taken
        expected = dict(zip(self.group_names, self.expected(step)))
        for g in optimizer.param_groups:
            assert g["lr"] == pytest.approx(expected[g["layer_group"]], rel=1e-12, abs=0), (step, g["layer_group"])
        params = dict(model.named_parameters())
        for (group, names), training in zip(self._groups(optimizer).items(), self._training(step)):
            same = [torch.equal(params[n], self.initial[n]) for n in names]
            if training:
                if expected[group] > 0:
                    self.moved.add(group)
                assert all(same) != (group in self.moved), (step, group, "an unfrozen group did not move")
            else:
                assert all(same), (step, group, "a frozen group changed")
        self.steps.append(step)


def test_gradual_unfreezing_discriminative_lrs_and_stlr_on_full_finetuning(tmp_path, tiny_models):
    cfg = _cfg(tmp_path, tiny_models["gpt2"], {"name": "full"}, schedule="stlr", weight_decay=0.1,
               ulmfit={**ULMFIT, "cut_frac": 0.25, "ratio": 8.0})
    probe = Probe(cfg, 40, GPT2_GROUPS)
    holder = _LogHistory()
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(probe, holder))
    assert out.status == "completed" and probe.steps == list(range(8))
    # stage by stage: 1, 1, 2, 2, 3, 3, 4, 4 groups trained (checked inside the probe); at the end the
    # model is as the method left it: everything trainable again
    assert all(p.requires_grad for p in probe.model.parameters())
    # the log: lr/<group> for every group, learning_rate = the top group's, for the step just taken
    logs = [e for e in holder.history if "loss" in e]
    assert [e["step"] for e in logs] == list(range(1, 9))
    for e in logs:
        expected = probe.expected(e["step"] - 1)
        assert [e[f"lr/{g}"] for g in GPT2_GROUPS] == pytest.approx(expected, rel=1e-12)
        assert e["learning_rate"] == pytest.approx(expected[-1], rel=1e-12)
    assert logs[0]["learning_rate"] == pytest.approx(1e-3 / 8)  # stlr starts at lr / ratio
    assert logs[2]["lr/block 1"] == pytest.approx(logs[2]["lr/head"] / 2.6)


class _LogHistory(TrainerCallback):
    def on_train_end(self, args, state, control, **kw):
        self.history = list(state.log_history)


class _PauseAt(TrainerCallback):
    def __init__(self, step, reporter):
        self.step, self.reporter = step, reporter

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.step:
            control.should_training_stop = control.should_save = True
            self.reporter.stop_reason = "paused"


def test_resume_restores_the_unfreezing_stage_and_continues_exactly(tmp_path, tiny_models):
    cfg = _cfg(tmp_path, tiny_models["gpt2"], {"name": "full"}, max_steps=6, schedule="stlr",
               weight_decay=0.1, ulmfit=ULMFIT)
    straight = Probe(cfg, 40, GPT2_GROUPS)
    run_training(cfg, tmp_path / "straight", tmp_path / "models", reporter=Reporter(straight))

    first = Reporter()
    first.callbacks.append(_PauseAt(3, first))
    assert run_training(cfg, tmp_path / "paused", tmp_path / "models", reporter=first).status == "paused"
    resumed = Probe(cfg, 40, GPT2_GROUPS)  # step 3: stage 2 (two groups train), restored at train begin
    out = run_training(cfg, tmp_path / "paused", tmp_path / "models", reporter=Reporter(resumed), resume=True)
    assert out.status == "completed" and resumed.steps == [3, 4, 5]
    a, b = dict(straight.model.named_parameters()), dict(resumed.model.named_parameters())
    for n in a:
        assert torch.equal(a[n], b[n]), n  # bit-exact on CPU: same data order, RNG and Adam state


def test_lora_with_gradual_unfreezing_every_epoch_and_accumulation(tmp_path, tiny_models):
    # 24 rows, batch 4, accumulation 2: 3 optimizer steps per epoch, so a new stage every 3 steps
    cfg = _cfg(tmp_path, tiny_models["llama"], {"name": "lora", "r": 4, "alpha": 8}, rows=24, max_steps=6,
               gradient_accumulation=2, schedule="linear", warmup_ratio=0.2,
               ulmfit={"gradual_unfreezing": True})
    probe = Probe(cfg, 24, LORA_GROUPS)
    out = run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(probe))
    assert out.status == "completed" and probe.steps == list(range(6))
    assert [sum(probe._training(t)) for t in range(6)] == [1, 1, 1, 2, 2, 2]
    assert probe.expected(0) == [0.0, 0.0]  # linear warm-up starts at 0
    assert probe.expected(3)[0] > 0 and probe.expected(2)[0] == 0.0


class _LrLog(TrainerCallback):
    def __init__(self):
        self.lrs, self.groups = [], None

    def on_optimizer_step(self, args, state, control, optimizer=None, **kw):
        self.groups = len(optimizer.param_groups)
        self.lrs.append(optimizer.param_groups[0]["lr"])


def test_stlr_alone_keeps_the_plain_optimizer(tmp_path, tiny_models):
    cfg = _cfg(tmp_path, tiny_models["gpt2"], {"name": "lora", "r": 4, "alpha": 8}, max_steps=5,
               schedule="stlr", ulmfit={"cut_frac": 0.4, "ratio": 4.0})
    log = _LrLog()
    run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=Reporter(log))
    assert log.groups == 2  # the Trainer's own decay / no-decay groups
    assert log.lrs == pytest.approx([1e-3 * schedules.stlr(t, 5, 0.4, 4.0) for t in range(5)], rel=1e-12)


# --- config
def test_ulmfit_config_loads_round_trips_and_defaults_off(tmp_path):
    base = {"name": "x", "task": "causal-lm", "model": "m", "data": {"train": "t.jsonl"}}
    plain = RunConfig.from_dict(base)
    assert plain.training.ulmfit.discriminative_decay is None and not plain.training.ulmfit.gradual_unfreezing
    assert not plain.training.ulmfit.active
    cfg = RunConfig.from_dict({**base, "training": {"schedule": "stlr", "ulmfit": {
        "discriminative_decay": 2.6, "gradual_unfreezing": True, "unfreeze_every": 50, "cut_frac": 0.2,
        "ratio": 16}}})
    u = cfg.training.ulmfit
    assert (u.discriminative_decay, u.gradual_unfreezing, u.unfreeze_every, u.cut_frac, u.ratio) == \
        (2.6, True, 50, 0.2, 16.0)
    assert u.active and cfg.training.schedule == "stlr"
    dump_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg
    dump_config(plain, tmp_path / "p.yaml")
    assert load_config(tmp_path / "p.yaml") == plain


@pytest.mark.parametrize("key,value", [("discriminative_decay", 0.5), ("discriminative_decay", "x"),
                                       ("gradual_unfreezing", "yes"), ("unfreeze_every", 0),
                                       ("unfreeze_every", 1.5), ("cut_frac", 0.0), ("cut_frac", 0.95),
                                       ("ratio", 0.5), ("ratoi", 3)])
def test_bad_ulmfit_values_name_their_key(key, value):
    data = {"name": "x", "task": "causal-lm", "model": "m", "data": {"train": "t.jsonl"},
            "training": {"ulmfit": {key: value}}}
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(data, source="run.yaml")
    assert err.value.path == f"training.ulmfit.{key}"
    assert f"run.yaml: training.ulmfit.{key}:" in str(err.value)


def test_stlr_with_warmup_is_refused():
    data = {"name": "x", "task": "causal-lm", "model": "m", "data": {"train": "t.jsonl"},
            "training": {"schedule": "stlr", "warmup_ratio": 0.1}}
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(data)
    assert err.value.path == "training.warmup_ratio"
    assert math.isclose(RunConfig.from_dict({**data, "training": {"schedule": "stlr"}}).training.warmup_ratio, 0)
