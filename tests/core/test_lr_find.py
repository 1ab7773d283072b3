"""`studio lr-find` on a tiny model: the sweep rises exponentially, the suggested rate trains better
than the sweep's ends, the result is stored under the config's hash, nothing of the run changes,
and ULMFiT's ladder is scaled as a whole while gradual unfreezing holds its first stage."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json

import pytest
from transformers import TrainerCallback

from studio.cli import main
from studio.config import RunConfig
from studio.core import lr_find as lr_find_module
from studio.core.lr_range import config_hash, falling_region, sweep_rate
from studio.core.schedules import discriminative_factors
from studio.core.train import NullReporter, run_training
from studio.store import open_db
from studio.store.lr_finds import latest_lr_find
from studio.submit import load_and_check
from tests.conftest import instruction_rows, write_config, write_jsonl

STEPS = 60


@pytest.fixture(autouse=True)
def _one_thread(one_thread_seeded):
    yield


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_config(tmp_path, tiny_models, **overrides):
    write_jsonl(tmp_path / "train.jsonl", instruction_rows(40))  # <= 50 rows: no held-out split
    return write_config(tmp_path, model=str(tiny_models["gpt2"]), method={"name": "full"},
                        data={"train": "train.jsonl", "max_length": 32},
                        training={"max_steps": 8, "batch_size": 4, "device": "cpu", **overrides})


def cli(home, *args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--home", str(home.root), *args])
    return code, out.getvalue(), err.getvalue()


class Losses(TrainerCallback):
    def __init__(self):
        self.losses = []

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            self.losses.append(logs["loss"])


def loss_after(cfg: RunConfig, lr: float, tmp_path) -> float:
    """Mean train loss of the last 3 of 8 steps at peak rate `lr` (the run's own recipe)."""
    losses = Losses()
    reporter = NullReporter()
    reporter.callbacks = [losses]
    cfg.training.learning_rate = lr
    run_training(cfg, tmp_path / f"run-{lr:g}", tmp_path / "models", reporter=reporter)
    return sum(losses.losses[-3:]) / 3


def test_lr_find_suggests_a_rate_where_the_loss_falls_and_stores_it(tmp_path, tiny_models, home):
    path = make_config(tmp_path, tiny_models)
    model_before, folder_before = snapshot(tiny_models["gpt2"]), snapshot(tmp_path)
    code, out, err = cli(home, "lr-find", str(path), "--steps", str(STEPS), "--json")
    assert code == 0, err
    result = json.loads(out)  # stdout is the JSON object alone
    assert {"lrs", "losses", "smoothed", "steepest", "min_loss", "min_loss_div10", "suggested", "rule",
            "stopped", "config_hash"} <= set(result)
    n = result["steps_run"]
    assert 10 < n <= STEPS and len(result["lrs"]) == len(result["losses"]) == n
    assert result["lrs"] == pytest.approx([sweep_rate(i, STEPS, 1e-7, 1.0) for i in range(n)], rel=1e-5)
    assert '"fraction"' in err  # progress lines for the wizard

    suggested = result["suggested"]
    assert suggested is not None and result["rule"] in ("steepest", "min_loss/10")
    low, high = falling_region(result["lrs"], result["losses"])
    assert low <= suggested <= high
    cfg, _ = load_and_check(path)
    at_suggested = loss_after(cfg, suggested, tmp_path)
    assert at_suggested < loss_after(cfg, 1e-7, tmp_path) - 0.1  # learns where 1e-7 barely moves
    assert at_suggested < loss_after(cfg, 1.0, tmp_path)  # and does not blow up as 1.0 does

    # kept under the config's hash, whatever the run-only keys (the wizard looks it up so)
    db = open_db(home.db_path)
    row = latest_lr_find(db, config_hash(cfg.to_dict()))
    cfg.training.learning_rate, cfg.training.max_steps = suggested, 500
    assert latest_lr_find(db, config_hash(cfg.to_dict()))["id"] == row["id"]
    assert row["suggested"] == suggested and row["result"]["lrs"] == result["lrs"] and row["method"] == "full"
    db.conn.close()
    # a throwaway copy: the model, the config's folder and the runs folder are untouched
    assert snapshot(tiny_models["gpt2"]) == model_before
    assert snapshot(tmp_path) == {**folder_before, **{k: v for k, v in snapshot(tmp_path).items()
                                                      if k.startswith(("run-", "home/", "models/"))}}
    assert not any(home.runs_dir.iterdir())


def test_text_output_names_both_proposals(tmp_path, tiny_models, home):
    code, out, _ = cli(home, "lr-find", str(make_config(tmp_path, tiny_models)), "--steps", "12")
    assert code == 0
    assert "steepest descent" in out and "min-loss rate / 10" in out
    assert "suggested:" in out or "no suggestion" in out


def test_bad_sweep_range_is_refused(tmp_path, tiny_models, home):
    code, _, err = cli(home, "lr-find", str(make_config(tmp_path, tiny_models)), "--start", "1", "--end", "0.1")
    assert code == 2 and "--start" in err


class GroupRates(lr_find_module.SweepRecorder):
    """The recorder, also keeping every layer group's rate and which groups could train at each step."""

    def on_log(self, args, state, control, logs=None, optimizer=None, model=None, **kw):
        if logs and "loss" in logs:
            self.rates.append({g["layer_group"]: g["lr"] for g in optimizer.param_groups})
            self.training.append({n.split(".")[1] if n.startswith("transformer.h.") else n
                                  for n, p in model.named_parameters() if p.requires_grad})
        super().on_log(args, state, control, logs=logs, **kw)


def test_ulmfit_ladder_scales_as_a_whole_and_unfreezing_holds_its_first_stage(tmp_path, tiny_models, home,
                                                                              monkeypatch):
    seen = []

    def recorder(*a, **kw):
        r = GroupRates(*a, **kw)
        r.rates, r.training = [], []
        seen.append(r)
        return r

    monkeypatch.setattr(lr_find_module, "SweepRecorder", recorder)
    path = make_config(tmp_path, tiny_models, ulmfit={"discriminative_decay": 2.6, "gradual_unfreezing": True})
    code, out, err = cli(home, "lr-find", str(path), "--steps", "10", "--json")
    assert code == 0, err
    result, (rec,) = json.loads(out), seen
    names = [g["name"] for g in result["layer_groups"]]
    assert names == ["embeddings", "block 0", "block 1", "head"]
    factors = discriminative_factors(4, 2.6)
    assert [g["factor"] for g in result["layer_groups"]] == pytest.approx(factors)
    assert result["lrs"] == pytest.approx([sweep_rate(i, 10, 1e-7, 1.0) for i in range(10)])  # the top group's
    for step, rates in enumerate(rec.rates):
        top = sweep_rate(step + 1, 10, 1e-7, 1.0)  # at log time the scheduler already holds the next step's
        assert rates["head"] == pytest.approx(top)
        assert [rates[n] for n in names] == pytest.approx([top * f for f in factors])
    # gradual unfreezing: the whole sweep trains only the run's first stage (the head group)
    assert all("0" not in names_ and "1" not in names_ for names_ in rec.training)
