"""The data step's Browse… opens where a new user's data is: the bundled samples, or the chosen file's folder."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from studio.resource_files import samples_dir
from studio.ui.pages.wizard import WizardPage
from tests.ui.test_wizard import fake_cli  # noqa: F401 (fixture)


def test_browse_starts_in_the_bundled_samples_then_in_the_chosen_files_folder(qtbot, home, monkeypatch, tmp_path):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    starts: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, caption, start, filters: (starts.append(start), ("", ""))[1]))
    step = page.data_step
    step._browse(step.train_edit, "Training")
    assert starts[-1] == str(samples_dir()) and (samples_dir() / "pirate_instructions.jsonl").is_file()
    step.train_edit.setText(str(tmp_path / "mine.jsonl"))
    step._browse(step.train_edit, "Training")
    assert starts[-1] == str(tmp_path)


def test_checking_the_data_is_progress_not_an_error_colour(qtbot, home, tiny_models, tmp_path, fake_cli):
    from tests.ui.test_wizard import SLOW_MS, build, to_data_step

    data = tmp_path / "broken.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": 1\n')
    page = build(qtbot, home)
    to_data_step(qtbot, page, tiny_models["gpt2"], data)
    assert page.problem.text() == "checking the data…" and "c0392b" not in page.problem.styleSheet()
    qtbot.waitUntil(lambda: page.state.inspect_error is not None, timeout=SLOW_MS)
    assert page.problem.text().startswith(f"{data}:2: ") and "c0392b" in page.problem.styleSheet()


def test_the_first_shown_wizard_draws_its_prompt_without_red(qtbot, store, home):
    from studio.ui.main_window import MainWindow

    window = MainWindow(store, home)
    qtbot.addWidget(window)
    window.show_page("wizard")
    window.show()
    qtbot.waitExposed(window)
    label = window.pages["wizard"].problem
    assert label.text().startswith("model:")
    assert label.palette().color(label.foregroundRole()).name() != "#c0392b"  # what is drawn, not the sheet
