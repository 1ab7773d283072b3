"""The ULMFiT guards where a run is made: `studio train` prints them before queueing (from the probe's
layer groups) and the recipe records them as run warnings, through the same call data warnings use."""
from __future__ import annotations

from studio.config import RunConfig
from studio.core.train import NullReporter, run_training
from studio.submit import check_method, load_and_check, ulmfit_warnings
from tests.conftest import instruction_rows, write_jsonl


class Recorder(NullReporter):
    def __init__(self):
        self.callbacks, self.stop_reason, self.warnings = [], None, []

    def warn(self, messages):
        self.warnings += messages


def _cfg(tmp_path, model, **ulmfit):
    data = write_jsonl(tmp_path / "train.jsonl", instruction_rows(40))  # batch 4: 10 steps per epoch
    return RunConfig.from_dict({"name": "u", "task": "causal-lm", "model": str(model),
                                "data": {"train": str(data), "max_length": 32}, "method": "full",
                                "training": {"max_steps": 6, "batch_size": 4, "save_steps": 100,
                                             "eval_steps": 100, "device": "cpu", "ulmfit": ulmfit}})


def test_unfreezing_that_cannot_finish_is_a_run_warning(tmp_path, tiny_models):
    cfg = _cfg(tmp_path, tiny_models["gpt2"], gradual_unfreezing=True)  # one epoch (10 steps) per group
    reporter = Recorder()
    run_training(cfg, tmp_path / "run", tmp_path / "models", reporter=reporter)
    (warning,) = [w for w in reporter.warnings if "gradual_unfreezing" in w]
    assert "only 1 of 4 layer groups" in warning and "embeddings, block 0, block 1" in warning


def test_studio_train_checks_the_probe_groups(tmp_path, tiny_models):
    cfg, data = load_and_check(_cfg(tmp_path, tiny_models["gpt2"], gradual_unfreezing=True,
                                    discriminative_decay=20.0))
    probed = check_method(cfg, data.label_names, "run.yaml")
    warnings = ulmfit_warnings(cfg, probed, len(data.train))
    assert [w.split(" ")[0] for w in warnings] == ["training.ulmfit.discriminative_decay",
                                                   "training.ulmfit.gradual_unfreezing"]
    assert ulmfit_warnings(_cfg(tmp_path, tiny_models["gpt2"]), probed, len(data.train)) == []
