"""The Data step offers the bundled sample data for the chosen task, as the Model step offers sample models."""
from __future__ import annotations

from studio.resource_files import resource_path, samples_dir
from studio.ui.pages.wizard import WizardPage
from studio.ui.pages.wizard.sample_data import SAMPLE_DATA
from tests.ui.test_wizard import fake_cli  # noqa: F401 (fixture)


def test_every_offered_sample_file_exists():
    for files in SAMPLE_DATA.values():
        for name in files:
            assert (samples_dir() / name).is_file(), name


def test_the_samples_shown_follow_the_task_and_fill_the_training_file(qtbot, home, fake_cli):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.set_model("sample:minilm")  # a classifier: classification data
    page.next_button.click()
    assert page.current == 1
    row = page.data_step.samples
    assert row.shown() == ["topics.jsonl", "rankings.jsonl"]
    row.buttons["topics.jsonl"].click()
    assert page.data_step.train_edit.text() == str(samples_dir() / "topics.jsonl")
    assert page.state.config["data"]["train"] == str((samples_dir() / "topics.jsonl").resolve())
    page.back_button.click()
    step = page.model_step
    page.set_model("sample:smollm2")
    step.task_box.setCurrentIndex(step.task_box.findData("preference"))
    page.next_button.click()
    assert row.shown() == ["pirate_preferences.jsonl"]


def test_the_first_run_help_says_where_the_sample_data_is():
    text = (resource_path("help") / "first_run.md").read_text()
    assert "**Samples:**" in text and "pirate preference pairs" in text
