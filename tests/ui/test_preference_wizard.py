"""The wizard for task preference: the task box offers it, the Data step previews pairs side by side, the
Training step shows the loss, DPO variant, beta ... only for that task, and the YAML carries them back."""
from __future__ import annotations

import json

import pytest

from studio.config import RunConfig, dump_config, load_config
from studio.ui import cli_call
from studio.ui.pages.wizard import WizardPage
from studio.ui.pages.wizard.preference_settings import KTO_NOTE, ONLY_FOR, TITLE
from studio.ui.pages.wizard.state import kto_file
from tests.ui.test_preference_preview import KTO, PAIR
from tests.ui.wizard_fakes import FakeCli, fake_cli  # noqa: F401 (fake_cli: a fixture)

PREFERENCE_LABEL = "preference (DPO / KTO / ORPO)"


def inspected(fmt: str, examples: list[dict]) -> dict:
    """A canned `studio inspect-data --json` answer for a preference file."""
    return {"ok": True, "format": fmt, "counts": {"train": 40, "validation": 4}, "label_names": None,
            "columns": ["prompt", "chosen", "rejected"] if fmt == "preference" else ["prompt", "completion", "label"],
            "examples": examples, "warnings": [],
            "lengths": {"bins": [0, 16, 32], "counts": [30, 14], "max_length": 256, "longest": 30, "over": 0,
                        "rows": 44}}


@pytest.fixture
def page(qtbot, home, fake_cli):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.resize(1100, 750)
    page.show()
    return page


def choose_task(page: WizardPage, task: str) -> None:
    box = page.model_step.task_box
    box.setCurrentIndex(box.findData(task))


def test_task_box_offers_preference_and_a_causal_sample_keeps_it(page):
    box = page.model_step.task_box
    labels = {box.itemData(i): box.itemText(i) for i in range(box.count())}
    assert labels["preference"] == PREFERENCE_LABEL and labels["causal-lm"] == "causal-lm"
    choose_task(page, "preference")
    page.set_model("sample:smollm2")
    assert page.state.config["task"] == "preference"  # the bare name, not the label
    page.set_model("sample:minilm")  # a classifier cannot be preference-tuned: its own task
    assert page.state.config["task"] == "classification"


def test_data_step_shows_pairs_side_by_side(qtbot, page, fake_cli, tmp_path):
    data = tmp_path / "prefs.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n', encoding="utf-8")
    fake_cli.canned["inspect-data"] = (inspected("preference", [PAIR]), None)
    choose_task(page, "preference")
    page.set_model("sample:smollm2")
    page.next_button.click()
    page.data_step.train_edit.setText(str(data))
    qtbot.waitUntil(page.next_button.isEnabled, timeout=5000)
    assert [c[0] for c in fake_cli.calls if c[0] == "inspect-data"]
    view = page.data_step.examples
    assert view.document().rootFrame().childFrames()  # the chosen | rejected table
    text = view.toPlainText()
    assert text.index("chosen ✓") < text.index("Ahoy, matey!") < text.index("rejected ✗") < text.index("Hello.")
    assert list(page.data_step.column_combos)[:2] == ["chosen", "rejected"]  # mappable like other formats


def test_training_step_shows_preference_settings_only_for_that_task_and_they_reach_the_yaml(page, tmp_path):
    state, step = page.state, page.training_step
    state.config.update(name="pirate-dpo", model="sample:smollm2", data={"train": str(tmp_path / "p.jsonl")})
    state.config["task"] = "causal-lm"
    step.enter()
    assert step.preference.isHidden() and "preference" not in state.config
    assert step.preference.title() == TITLE

    state.config["task"] = "preference"
    step.enter()
    prefs = step.preference
    assert not prefs.isHidden()
    assert prefs.form.editors["dpo_loss_type"].isEnabled() and not prefs.form.editors["desirable_weight"].isEnabled()
    prefs.form.set_value("dpo_loss_type", "ipo")
    prefs.form.set_value("beta", 0.25)
    assert state.config["preference"]["dpo_loss_type"] == "ipo" and state.config["preference"]["beta"] == 0.25
    assert "dpo variant" in prefs.form.editors["dpo_loss_type"].toolTip().lower()  # the one-line doc

    path = tmp_path / "run.yaml"
    dump_config(RunConfig.from_dict(dict(state.config)), path)
    back = load_config(path)
    assert (back.task, back.preference.loss, back.preference.dpo_loss_type, back.preference.beta) == \
        ("preference", "dpo", "ipo", 0.25)

    prefs.form.set_value("loss", "kto")  # DPO's fields greyed and left out; KTO's open
    assert not prefs.form.editors["dpo_loss_type"].isEnabled() and prefs.form.editors["desirable_weight"].isEnabled()
    prefs.form.set_value("desirable_weight", 1.5)
    dpo_only = {name for name, loss in ONLY_FOR.items() if loss == "dpo"}
    assert dpo_only.isdisjoint(state.config["preference"]) and state.config["preference"]["desirable_weight"] == 1.5
    cfg = RunConfig.from_dict(dict(state.config))  # PreferenceSpec accepts it (it refuses DPO knobs under kto)
    assert cfg.preference.loss == "kto" and cfg.preference.dpo_loss_type == "sigmoid"

    prefs.form.editors["beta"].setText("0")
    assert step.error() == "preference.beta: must be > 0.0, got 0.0"
    prefs.form.editors["beta"].setText("0.1")
    assert step.error() is None

    state.config["task"] = "causal-lm"  # back to SFT: the section goes
    step.enter()
    assert step.preference.isHidden() and "preference" not in state.config


def test_a_kto_file_chooses_loss_kto(page):
    state, step = page.state, page.training_step
    state.config.update(task="preference", name="k", model="sample:smollm2", data={"train": "/d/k.jsonl"})
    state.inspect = inspected("kto", [KTO])
    step.enter()
    assert step.preference.form.value("loss") == "kto" and state.config["preference"]["loss"] == "kto"
    assert step.preference.note.text() == KTO_NOTE


def test_use_preference_data_opens_the_data_step_on_the_file(qtbot, page, fake_cli, tmp_path):
    data = tmp_path / "from-compare.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n', encoding="utf-8")
    fake_cli.canned["inspect-data"] = (inspected("preference", [PAIR]), None)
    page.use_preference_data("sample:smollm2", str(data))
    assert page.current == 1 and page.state.config["task"] == "preference"
    assert page.state.config["model"] == "sample:smollm2" and page.state.config["data"]["train"] == str(data)


def test_load_config_fills_the_preference_settings(page, tmp_path):
    path = tmp_path / "orpo.yaml"
    path.write_text("name: o\ntask: preference\nmodel: sample:smollm2\ndata: {train: p.jsonl}\n"
                    "preference: {loss: orpo, beta: 0.5}\n", encoding="utf-8")
    assert page.load_config(str(path))  # the Model step's "Load config…"
    step = page.training_step
    step.enter()
    assert not step.preference.isHidden()
    assert (step.preference.form.value("loss"), step.preference.form.value("beta")) == ("orpo", 0.5)
    assert page.state.config["preference"] == {"loss": "orpo", "beta": 0.5}


def test_a_kto_file_under_a_pair_loss_switches_to_kto_and_checks_again(page, monkeypatch):
    state = page.state
    state.config.update(task="preference", model="sample:smollm2", data={"train": "/d/k.jsonl"})
    again = []
    monkeypatch.setattr(state, "start_inspect", lambda force=False: again.append(force))
    refused = {"ok": False, "columns": ["prompt", "completion", "label"],
               "error": "k.jsonl: a KTO file (prompt / completion / label), but loss dpo needs pairs"}
    state._on_inspected(refused, None)
    assert state.config["preference"]["loss"] == "kto" and again == [True]
    assert kto_file(refused) and not kto_file({"columns": ["prompt", "chosen", "rejected", "label"]})
    state.config["task"] = "causal-lm"  # another task's error is left as it is
    state.config.pop("preference")
    state._on_inspected(refused, None)
    assert "preference" not in state.config and again == [True]


@pytest.mark.slow
def test_real_inspection_previews_pairs_and_switches_a_kto_file_to_kto(qtbot, home, tiny_models, tmp_path,
                                                                      monkeypatch):
    """Through the real `studio inspect-data` (in this process): highlighted answers, then a KTO file."""
    from tests.ui.test_wizard import SLOW_MS, InProcessCli

    InProcessCli.calls, InProcessCli.canned = [], {}
    monkeypatch.setattr(cli_call, "CliCall", InProcessCli)
    pairs, kto = tmp_path / "pairs.jsonl", tmp_path / "kto.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": f"Greet sailor {i}", "chosen": f"Ahoy, matey {i}!",
                                         "rejected": f"Hello {i}."}) + "\n" for i in range(12)), encoding="utf-8")
    kto.write_text("".join(json.dumps({"prompt": f"Greet sailor {i}", "completion": f"Ahoy {i}!",
                                       "label": i % 2 == 0}) + "\n" for i in range(12)), encoding="utf-8")
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.show()
    choose_task(page, "preference")
    page.set_model(str(tiny_models["llama"]))
    page.next_button.click()
    page.data_step.train_edit.setText(str(pairs))
    qtbot.waitUntil(page.next_button.isEnabled, timeout=SLOW_MS)
    first = page.state.inspect["examples"][0]
    assert first["kind"] == "preference" and page.state.inspect["format"] == "preference"
    answers = [first[side][s:e] for side in ("chosen", "rejected") for s, e in first["trained"][side]]
    assert "Ahoy, matey 0!" in answers[0] and "Hello 0." in answers[1] and "Greet" not in "".join(answers)
    text = page.data_step.examples.toPlainText()
    assert text.index("chosen ✓") < text.index("Ahoy, matey 0!") < text.index("rejected ✗") < text.index("Hello 0.")

    page.data_step.train_edit.setText(str(kto))
    qtbot.waitUntil(lambda: page.next_button.isEnabled() and page.state.inspect.get("format") == "kto",
                    timeout=SLOW_MS)
    assert page.state.config["preference"]["loss"] == "kto"
    assert "desirable" in page.data_step.examples.toPlainText()
    page.training_step.enter()  # the Training step shows the loss the data needs
    assert page.training_step.preference.form.value("loss") == "kto"
