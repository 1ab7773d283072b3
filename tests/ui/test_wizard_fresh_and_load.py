"""Wizard starts (issue 12, item 5): a fresh wizard once a run is queued, Start never reuses a name,
the run name and ULMFiT settings follow the model, and Load config… fills every step."""
from __future__ import annotations

import pytest

from studio.config import load_config
from studio.store import open_db
from studio.ui.pages.wizard import WizardPage
from tests.ui.conftest import make_run
from tests.ui.wizard_fakes import fake_cli  # noqa: F401 (fake_cli: a fixture)


@pytest.fixture
def page(qtbot, home, fake_cli):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    return page


def _with_run(home, name: str) -> None:
    db = open_db(home.db_path)
    make_run(db, name=name, status="completed")
    db.conn.close()


def _ready(page, tmp_path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "hello"}\n')
    page.state.config.update(model="sample:smollm2", task="causal-lm", data={"train": str(data)})


def test_a_queued_run_leaves_a_fresh_wizard(qtbot, page, tmp_path, fake_cli):
    page.model_step.set_model("sample:smollm2")
    _ready(page, tmp_path)
    page.state.set_method("lora", {"r": 16})
    page.training_step.form.set_value("max_steps", 7)
    page.go(4)
    fake_cli.canned["train"] = ({"run_id": 1}, None)
    with qtbot.waitSignal(page.run_started, timeout=5000):
        page.review_step.start_button.click()
    assert page.current == 0 and page.model_step.model_edit.text() == "" and page.model_step.name_edit.text() == ""
    assert page.state.config["method"] == {"name": "lora"} and page.state.options_of("lora") == {}
    assert page.review_step.status.text() == "" and "queued" not in page.review_step.yaml_view.toPlainText()
    assert page.training_step.form.value("max_steps") is None and not page.next_button.isEnabled()


def test_start_proposes_a_free_name_instead_of_reusing_one(qtbot, page, home, tmp_path, fake_cli, monkeypatch):
    _with_run(home, "smollm2-ft")
    page.model_step.set_model("sample:smollm2")
    assert page.model_step.name_edit.text() == "smollm2-ft-2"  # the proposal is free already
    page.model_step.name_edit.setText("smollm2-ft")  # typed: a taken name
    _ready(page, tmp_path)
    review = page.review_step
    monkeypatch.setattr(review, "confirm_rename", lambda taken, free: False)
    review.start()
    assert "already names a run" in review.status.text() and not [c for c in fake_cli.calls if c[0] == "train"]
    asked = []
    monkeypatch.setattr(review, "confirm_rename", lambda taken, free: asked.append((taken, free)) or True)
    fake_cli.canned["train"] = ({"run_id": 2}, None)
    with qtbot.waitSignal(page.message, timeout=5000, check_params_cb=lambda m: "queued" in m) as said:
        review.start()
    assert asked == [("smollm2-ft", "smollm2-ft-2")]
    assert "smollm2-ft-2" in said.args[0] and "'smollm2-ft' was taken" in said.args[0]
    path = home.root / "configs" / "smollm2-ft-2.yaml"
    assert fake_cli.calls[-1] == ["train", str(path), "--detach", "--json"] and load_config(path).name == "smollm2-ft-2"


def test_switching_the_model_renames_the_run_and_resets_ulmfit(qtbot, page):
    step = page.model_step
    step.set_model("sample:smollm2")
    assert step.name_edit.text() == "smollm2-ft"
    page.training_step.ulmfit.set_value("discriminative_decay", 2.6)
    page.training_step.ulmfit.set_value("gradual_unfreezing", True)
    step.set_model("sample:minilm")
    assert step.name_edit.text() == "minilm-ft" and page.state.config["name"] == "minilm-ft"
    assert page.training_step.ulmfit.values(skip_defaults=True) == {}
    step.name_edit.textEdited.emit("mine")  # a name of the user's own stays
    step.name_edit.setText("mine")
    step.set_model("sample:smollm2")
    assert step.name_edit.text() == "mine"


def test_load_config_fills_every_step(qtbot, page, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"text": "hi"}\n')
    path = tmp_path / "run.yaml"
    path.write_text("name: loaded\nmodel: sample:minilm\ntask: classification\n"
                    "data: {train: data/train.jsonl, max_length: 96, format: classification, "
                    "columns: {label: stars}}\n"
                    "method: {name: lora, r: 4}\ntraining: {max_steps: 12, schedule: stlr, batch_size: 2,"
                    " ulmfit: {discriminative_decay: 2.6}}\n")
    page.load_config(str(path))
    c = page.state.config
    assert (c["name"], c["model"], c["task"]) == ("loaded", "sample:minilm", "classification")
    assert page.model_step.task_box.findText("classification") == page.model_step.task_box.currentIndex()
    assert page.data_step.train_edit.text() == str(tmp_path / "data" / "train.jsonl")  # relative to the file
    assert c["data"]["max_length"] == 96 and c["data"]["format"] == "classification"
    assert c["data"]["columns"] == {"label": "stars"}
    assert c["method"] == {"name": "lora", "r": 4}
    t = page.training_step
    assert (t.form.value("max_steps"), t.form.value("schedule"), t.form.value("batch_size")) == (12, "stlr", 2)
    assert t.form.editors["schedule"].currentText() == "slanted triangular (ULMFiT)"
    assert t.ulmfit.value("discriminative_decay") == 2.6
    assert not t.lr_edited  # the file leaves the rate to the method


def test_a_bad_config_names_the_field_and_changes_nothing(qtbot, page, tmp_path):
    page.model_step.set_model("sample:smollm2")
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmodel: sample:smollm2\ntask: causal-lm\ndata: {train: a.jsonl}\n"
                    "training: {batch_size: 0}\n")
    assert page.load_config(str(path)) is False
    assert f"{path}: training.batch_size: must be >= 1" in page.model_step.status.text()
    assert page.state.config["model"] == "sample:smollm2"
