"""The data step's Browse… opens where a new user's data is: the bundled samples, or the chosen file's folder."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from studio.resource_files import samples_dir
from studio.ui.pages.wizard import WizardPage


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
