"""The Runs page's worker log pane shows the Trainer's log dicts in words (issue 12, item 8)."""
from __future__ import annotations

from studio.store import runs
from studio.ui.pages.runs import RunsPage
from tests.jobs.test_log_lines import TRAINER
from tests.ui.conftest import make_run


def test_the_runs_page_log_pane_shows_readable_lines(qtbot, store, home):
    run_id = make_run(store, "r", status="completed")
    home.run_dir(run_id).mkdir(parents=True)
    (home.run_dir(run_id) / "worker.log").write_text(f"loading the model\n{TRAINER}\n")
    page = RunsPage(store, home)
    qtbot.addWidget(page)
    page.show()
    page.select_run(run_id)
    text = page.detail.log_box.toPlainText()
    assert "loss 2.345 · grad norm 1.021" in text and "'loss'" not in text and "loading the model" in text
    assert runs.get_run(store, run_id)["status"] == "completed"
