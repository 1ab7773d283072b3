"""The main window mid-run (issue 12, items 3 and 8): quitting says that training goes on in the
background and offers to stop it; the Runs table's Clone config opens a fresh wizard with the run's
settings under a free name."""
from __future__ import annotations

import pytest

from studio.store import commands, open_db, runs
from studio.ui import quit_guard
from studio.ui.main_window import MainWindow
from tests.ui.conftest import make_run


@pytest.fixture
def store(home):
    """The home's own database, as the app opens it (the wizard reads taken names from there)."""
    db = open_db(home.db_path)
    yield db
    db.conn.close()


@pytest.fixture
def window(qtbot, store, home):
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    window.ask_on_quit = True  # as the user's window (tests build it without settings)
    return window


def test_quitting_mid_run_says_training_goes_on_and_can_stop_it(qtbot, window, store, monkeypatch):
    running = make_run(store, "busy", status="running")
    waiting = make_run(store, "next")
    asked = []

    def answer(choice):
        def ask(parent, active):
            asked.append(quit_guard.quit_text(active))
            return choice
        return ask
    monkeypatch.setattr(quit_guard, "ask", answer(quit_guard.CANCEL))
    window.show()
    window.quit_action.trigger()  # Ctrl+Q
    assert window.isVisible() and "Training goes on in the background" in asked[0]
    assert f"run {running} (busy)" in asked[0] and f"run {waiting} (next)" in asked[0]

    monkeypatch.setattr(quit_guard, "ask", answer(quit_guard.STOP))
    window.quit_action.trigger()
    assert not window.isVisible()
    assert runs.get_run(store, waiting)["status"] == "cancelled"  # left the queue
    assert commands.pending_command(store, running)["kind"] == "stop"  # the worker stops at its next step


def test_quitting_with_nothing_running_asks_nothing(qtbot, window, store, monkeypatch):
    make_run(store, "done", status="completed")
    monkeypatch.setattr(quit_guard, "ask", lambda *a: pytest.fail("asked"))
    window.show()
    window.quit_action.trigger()
    assert not window.isVisible()


def test_clone_config_opens_a_new_wizard_with_the_runs_settings(qtbot, window, store, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "hi"}\n')
    run_id = make_run(store, "pirate", status="completed")
    runs.update_run(store, run_id, config={"name": "pirate", "task": "causal-lm", "model": "sample:smollm2",
                                           "data": {"train": str(data), "max_length": 64},
                                           "method": {"name": "lora", "r": 4}, "training": {"max_steps": 9}})
    page = window.pages["runs"]
    page.refresh()
    page.actions.clone(runs.get_run(store, run_id))
    assert window.current_page == "wizard"
    wizard = window.pages["wizard"]
    assert wizard.current == 0 and wizard.state.config["name"] == "pirate-2"
    assert wizard.data_step.train_edit.text() == str(data) and wizard.state.config["method"] == {"name": "lora", "r": 4}
    assert wizard.training_step.form.value("max_steps") == 9
