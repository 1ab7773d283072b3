"""The Method wizard: stepping through writes a valid config, errors keep Next disabled, method cards
show probe counts, the LR preview matches the schedules, Start queues `studio train --detach`."""
from __future__ import annotations

import contextlib
import io

import pytest
from PySide6.QtCore import QObject, QTimer, Signal

from studio.config import RunConfig, load_config
from studio.core.schedules import group_learning_rates
from studio.ui import cli_call
from studio.ui.pages.wizard import WizardPage
from tests.conftest import instruction_rows, write_jsonl

SLOW_MS = 180_000  # child processes import torch: 10-20 s each on a busy two-core machine


class InProcessCli(QObject):
    """CliCall's stand-in: runs `studio ARGS` in this process (or answers from `canned`), then
    delivers `finished` from the event loop as the real one does."""

    finished = Signal(object, object)
    calls: list[list[str]] = []
    canned: dict[str, tuple] = {}

    def __init__(self, home, args, timeout_s=120.0, parent=None):
        super().__init__(parent)
        self.home, self.args, self._done = home, list(args), False

    def start(self):
        InProcessCli.calls.append(self.args)
        if self.args[0] in self.canned:
            result, error = self.canned[self.args[0]]
        else:
            result, error = self._run()
        QTimer.singleShot(0, lambda: self._emit(result, error))
        return self

    def _run(self):
        import json

        from studio.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--home", str(self.home.root), *self.args])
        if code:
            return None, err.getvalue().strip().splitlines()[-1].removeprefix("studio: ")
        return json.loads(out.getvalue()), None

    def cancel(self):
        self._done = True

    @property
    def running(self):
        return not self._done

    def _emit(self, result, error):
        if not self._done:
            self._done = True
            self.finished.emit(result, error)


@pytest.fixture
def fake_cli(monkeypatch):
    InProcessCli.calls, InProcessCli.canned = [], {}
    monkeypatch.setattr(cli_call, "CliCall", InProcessCli)
    return InProcessCli


def build(qtbot, home) -> WizardPage:
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.resize(1100, 750)
    page.show()
    return page


def to_data_step(qtbot, page, model, data) -> None:
    page.set_model(str(model))
    assert page.next_button.isEnabled(), page.problem.text()
    page.next_button.click()
    assert page.current == 1 and not page.next_button.isEnabled()
    page.data_step.train_edit.setText(str(data))


def test_page_builds_alone(qtbot, home):
    page = build(qtbot, home)
    assert [s.title for s in page.steps] == ["Model", "Data", "Method", "Training", "Review"]
    assert page.current == 0 and not page.next_button.isEnabled() and not page.back_button.isEnabled()
    assert page.problem.text().startswith("model:")
    page.model_step.model_edit.setText("/no/such/folder")
    assert "no such folder" in page.problem.text()
    page.set_model("sample:minilm")
    assert page.model_step.task_box.currentText() == "classification"
    assert page.model_step.name_edit.text() == "minilm-ft"
    page.refresh()


def test_stepping_through_writes_the_config_entered(qtbot, home, tiny_models, tmp_path, fake_cli):
    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(24))
    page = build(qtbot, home)
    to_data_step(qtbot, page, tiny_models["gpt2"], data)
    page.data_step.form.set_value("max_length", 64)
    page.data_step.form.set_value("val_fraction", 0.25)
    qtbot.waitUntil(page.next_button.isEnabled, timeout=SLOW_MS)
    assert page.state.inspect["counts"] == {"train": 18, "validation": 6}
    assert "<|assistant|>The answer is" in page.data_step.examples.toPlainText()
    assert page.data_step.bars is not None
    page.next_button.click()

    step = page.method_step
    qtbot.waitUntil(lambda: "lora" in step.cards, timeout=SLOW_MS)
    step.cards["houlsby"].radio.click()
    assert page.state.config["method"] == {"name": "houlsby"}
    step.options.set_value("size", 16)
    assert page.state.config["method"] == {"name": "houlsby", "size": 16}
    qtbot.waitUntil(lambda: page.state.probe_of("houlsby") is not None and not page.state.running("probe"),
                    timeout=SLOW_MS)
    assert "parameters trainable" in step.cards["houlsby"].counts.text()
    assert page.next_button.isEnabled(), page.problem.text()
    page.next_button.click()

    training = page.training_step
    assert training.form.value("learning_rate") == page.state.method_info("houlsby")["learning_rate"]
    for name, value in (("max_steps", 30), ("batch_size", 4), ("learning_rate", 0.003), ("schedule", "stlr")):
        training.form.set_value(name, value)
    training.ulmfit.set_value("discriminative_decay", 2.6)
    assert page.next_button.isEnabled(), page.problem.text()
    page.next_button.click()

    review = page.review_step
    path = home.root / "configs" / "gpt2-ft.yaml"
    assert review.command.text() == f"studio train {path}"
    assert "houlsby" in review.yaml_view.toPlainText() and "Memory estimate on" in review.memory.estimate.text()
    fake_cli.canned["train"] = ({"run_id": 5}, None)
    with qtbot.waitSignal(page.run_started, timeout=5000) as started:
        review.start_button.click()
    assert started.args == [5]
    assert fake_cli.calls[-1] == ["train", str(path), "--detach", "--json"]
    entered = {"name": "gpt2-ft", "task": "causal-lm", "model": str(tiny_models["gpt2"]),
               "data": {"train": str(data), "max_length": 64, "val_fraction": 0.25},
               "method": {"name": "houlsby", "size": 16},
               "training": {"max_steps": 30, "batch_size": 4, "learning_rate": 0.003, "schedule": "stlr",
                            "ulmfit": {"discriminative_decay": 2.6}}}
    assert load_config(path) == RunConfig.from_dict(entered)


def test_broken_data_keeps_next_disabled_naming_file_and_line(qtbot, home, tiny_models, tmp_path, fake_cli):
    data = tmp_path / "broken.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n{"instruction": 1\n')
    page = build(qtbot, home)
    to_data_step(qtbot, page, tiny_models["gpt2"], data)
    qtbot.waitUntil(lambda: page.state.inspect_error is not None, timeout=SLOW_MS)
    assert not page.next_button.isEnabled()
    assert page.problem.text().startswith(f"{data}:3: ") and page.data_step.status.text() == page.problem.text()
    assert not page.reachable(2)
    page.step_list.setCurrentRow(3)  # later steps stay closed
    assert page.current == 1


def test_column_mapping_fixes_unknown_columns(qtbot, home, tiny_models, tmp_path, fake_cli):
    data = write_jsonl(tmp_path / "qa.jsonl", [{"question": f"q{i}?", "answer": f" a{i}"} for i in range(6)])
    page = build(qtbot, home)
    to_data_step(qtbot, page, tiny_models["gpt2"], data)
    qtbot.waitUntil(lambda: page.state.inspect_error is not None, timeout=SLOW_MS)
    assert "cannot tell the example format" in page.problem.text() and not page.data_step.column_combos
    step = page.data_step
    step.form.set_value("format", "completion")
    assert set(step.column_combos) == {"prompt", "completion"}
    for studio_col, theirs in (("prompt", "question"), ("completion", "answer")):
        box = step.column_combos[studio_col]
        box.setCurrentIndex(box.findData(theirs))
        box.activated.emit(box.currentIndex())
    assert page.state.config["data"]["columns"] == {"prompt": "question", "completion": "answer"}
    qtbot.waitUntil(page.next_button.isEnabled, timeout=SLOW_MS)
    assert page.state.inspect["column_map"] == {"prompt": "question", "completion": "answer"}
    assert "q0? a0" in step.examples.toPlainText()


def test_method_cards_show_real_probe_counts_and_refusals(qtbot, home, tiny_models, tmp_path):
    """Real child processes (inspect-data, methods, probe), as the app runs them."""
    from transformers import AutoConfig

    data = write_jsonl(tmp_path / "d.jsonl", instruction_rows(12))
    page = build(qtbot, home)
    to_data_step(qtbot, page, tiny_models["llama"], data)
    qtbot.waitUntil(page.next_button.isEnabled, timeout=SLOW_MS)
    page.next_button.click()
    cards = page.method_step.cards
    qtbot.waitUntil(lambda: "lora" in cards and "trainable" in cards["lora"].counts.text(), timeout=SLOW_MS)
    c = AutoConfig.from_pretrained(tiny_models["llama"])
    d, kv = c.hidden_size, c.num_key_value_heads * (c.hidden_size // c.num_attention_heads)
    lora = c.num_hidden_layers * (8 * (d + d) + 8 * (d + kv))  # default r=8 on q and v
    assert cards["lora"].counts.text().startswith(f"{lora:,} of ")
    assert not cards["lora"].spinner.isVisible()
    assert not cards["bitfit"].isEnabled() and "no bias" in cards["bitfit"].counts.text()
    if page.state.probe["cuda"] is False:
        assert "CPU, slow" in cards["qlora"].counts.text()
    cards["bitfit"].radio.click()  # greyed out: cannot be chosen
    assert page.state.config["method"]["name"] == "lora" and page.next_button.isEnabled()


def test_lr_preview_has_one_curve_per_layer_group(qtbot, home):
    page = build(qtbot, home)
    state = page.state
    state.methods = [{"name": "lora", "learning_rate": 2e-4, "options": [], "mergeable": True, "description": ""}]
    groups = [{"name": n, "params": 10} for n in ("embeddings", "block 0", "block 1", "head")]
    state.probe = {"cuda": False, "methods": [{"method": "lora", "layer_groups": groups}]}
    state.inspect = {"ok": True, "counts": {"train": 40, "validation": 0}}
    step = page.training_step
    step.enter()
    assert step.form.value("learning_rate") == 2e-4
    step.form.set_value("batch_size", 4)  # 10 steps per epoch
    step.form.set_value("epochs", 3.0)
    step.ulmfit.set_value("discriminative_decay", 2.6)
    step.ulmfit.set_value("gradual_unfreezing", True)
    assert step.error() is None
    assert step.curve_names == ["embeddings", "block 0", "block 1", "head"] and len(step.curves) == 4
    spec = {"schedule": "linear", "warmup_ratio": 0.0, "discriminative_decay": 2.6, "gradual_unfreezing": True,
            "unfreeze_every": None, "cut_frac": 0.1, "ratio": 32.0, "steps_per_epoch": 10}
    expected = [group_learning_rates(s, 30, 2e-4, 4, **spec) for s in range(30)]
    for i, curve in enumerate(step.curves):
        xs, ys = curve.getData()
        assert list(xs) == list(range(30)) and list(ys) == [row[i] for row in expected]
    # One more group per epoch from the top: block 0 joins in the third epoch, embeddings would in a fourth.
    assert expected[19][1] == 0.0 < expected[20][1] and expected[29][0] == 0.0
    step.form.set_value("max_steps", 5)
    assert step.error() == "training.epochs: give max_steps or epochs, not both"


def test_start_never_overwrites_another_config_silently(qtbot, home, monkeypatch, fake_cli):
    page = build(qtbot, home)
    page.state.config.update(name="mine", model="sample:minilm", task="classification",
                             data={"train": "/data/x.csv"})
    review = page.review_step
    review.enter()
    path = home.root / "configs" / "mine.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("name: other\n")
    monkeypatch.setattr(review, "confirm_overwrite", lambda p: False)
    review.start()
    trains = lambda: [c for c in fake_cli.calls if c[0] == "train"]  # noqa: E731 (Review also probes the model)
    assert path.read_text() == "name: other\n" and trains() == []
    assert "exists" in review.status.text()
    monkeypatch.setattr(review, "confirm_overwrite", lambda p: True)
    fake_cli.canned["train"] = (None, "/data/x.csv: file not found")
    review.start()
    qtbot.waitUntil(lambda: "file not found" in review.status.text(), timeout=5000)
    assert load_config(path).name == "mine" and trains() == [["train", str(path), "--detach", "--json"]]


def test_the_empty_model_step_prompts_without_the_error_colour(qtbot, store, home, tmp_path):
    from studio.ui.pages.wizard import WizardPage

    page = WizardPage(store, home)
    qtbot.addWidget(page)
    assert "model:" in page.problem.text() and "c0392b" not in page.problem.styleSheet()
    page.model_step.set_model(str(tmp_path / "no-such-model"))
    qtbot.waitUntil(lambda: "c0392b" in page.problem.styleSheet())
    assert not page.next_button.isEnabled()
