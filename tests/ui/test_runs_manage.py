"""Managing runs on the Runs page (issue 12, item 3): a paused run can be stopped; the table's
context menu clones a config into a new wizard, renames, deletes a run with its files (asking
first) and refuses to delete a training run."""
from __future__ import annotations

from studio.store import runs
from studio.ui.pages.runs import RunsPage
from tests.ui.conftest import make_run


def build(qtbot, db, home) -> RunsPage:
    page = RunsPage(db, home)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def test_a_paused_run_can_be_stopped_and_keeps_its_checkpoints(qtbot, store, home):
    run_id = make_run(store, "p", status="paused", step=20)
    page = build(qtbot, store, home)
    page.select_run(run_id)
    assert page.detail.stop_button.isEnabled() and page.detail.resume_button.isEnabled()
    with qtbot.waitSignal(page.message, timeout=10_000, check_params_cb=lambda m: "cancelled" in m):
        page.detail.stop_button.click()
    qtbot.waitUntil(lambda: not page.busy, timeout=10_000)
    assert runs.get_run(store, run_id)["status"] == "cancelled"
    assert page.detail.resume_button.isEnabled()  # cancelled runs resume from their last checkpoint


def test_menu_offers_clone_rename_delete_and_refuses_deleting_a_training_run(qtbot, store, home):
    running = make_run(store, "busy", status="running")
    paused = make_run(store, "p", status="paused")
    runs.update_run(store, paused, config={"name": "p", "task": "causal-lm", "model": "sample:smollm2"})
    page = build(qtbot, store, home)
    texts = [a.text() for a in page.actions.menu_for(runs.get_run(store, paused)).actions() if a.text()]
    assert texts == ["Clone config into a new run…", "Open run folder", "Rename…", "Delete run and its files…"]
    delete = page.actions.menu_for(runs.get_run(store, running)).actions()[-1]
    assert not delete.isEnabled() and "stop it first" in delete.text()
    page.actions.delete(runs.get_run(store, running))  # even when asked directly
    assert runs.get_run(store, running)["status"] == "running"

    row = page.model.row_of(paused)
    pos = page.table.visualRect(page.model.index(row, 1)).center()
    page.table.customContextMenuRequested.emit(pos)  # right-click on the paused run's row
    assert page.actions.menu is not None and page.actions.menu.isVisible()
    page.actions.menu.close()
    with qtbot.waitSignal(page.clone_config) as cloned:
        next(a for a in page.actions.menu.actions() if a.text().startswith("Clone")).trigger()
    assert cloned.args[0]["model"] == "sample:smollm2"


def test_rename_and_delete_with_files(qtbot, store, home, monkeypatch):
    paused = make_run(store, "waiting", status="paused")  # (a queued one would be started by the page)
    other = make_run(store, "other", status="completed")
    folder = home.run_dir(paused)
    (folder / "checkpoint-5").mkdir(parents=True)
    page = build(qtbot, store, home)
    actions = page.actions
    monkeypatch.setattr(actions, "ask_name", lambda run: "other")
    monkeypatch.setattr("studio.ui.widgets.run_actions.QMessageBox.warning", lambda *a: None)
    with qtbot.waitSignal(actions.message) as said:
        actions.rename(runs.get_run(store, paused))
    assert "already called 'other'" in said.args[0] and runs.get_run(store, paused)["name"] == "waiting"
    monkeypatch.setattr(actions, "ask_name", lambda run: "renamed")
    actions.rename(runs.get_run(store, paused))
    assert runs.get_run(store, paused)["name"] == "renamed"

    monkeypatch.setattr(actions, "confirm_delete", lambda run: False)
    actions.delete(runs.get_run(store, paused))
    assert folder.is_dir() and not actions.deleting
    monkeypatch.setattr(actions, "confirm_delete", lambda run: True)
    actions.delete(runs.get_run(store, paused))
    qtbot.waitUntil(lambda: page.model.row_of(paused) is None, timeout=10_000)
    assert not folder.exists() and [r["id"] for r in runs.list_runs(store)] == [other]
