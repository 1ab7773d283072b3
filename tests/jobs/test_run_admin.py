"""Runs as records (issue 12, item 3): a paused run can be stopped, paused and queued runs deleted
with their folders, runs renamed; a training run is refused; the CLI says the same (`studio stop`,
`studio runs rename|rm`)."""
from __future__ import annotations

import pytest

from studio.cli import main
from studio.jobs import run_admin
from studio.store import checkpoints, open_db, runs
from tests.ui.conftest import make_run


@pytest.fixture
def db(home):
    db = open_db(home.db_path)
    yield db
    db.conn.close()


def test_stopping_a_paused_run_cancels_it_and_keeps_its_checkpoints(home, db, capsys):
    run_id = make_run(db, "p", status="paused", step=10)
    checkpoints.add_checkpoint(db, run_id, 10, str(home.run_dir(run_id) / "checkpoint-10"))
    assert main(["stop", str(run_id)]) == 0
    assert f"run {run_id} is cancelled" in capsys.readouterr().out
    assert runs.get_run(db, run_id)["status"] == "cancelled"
    assert [c["step"] for c in checkpoints.list_checkpoints(db, run_id)] == [10]


def test_paused_and_queued_runs_are_deleted_with_their_folders(home, db, capsys):
    paused, queued = make_run(db, "p", status="paused"), make_run(db, "q")
    for run_id in (paused, queued):
        (home.run_dir(run_id) / "checkpoint-5").mkdir(parents=True)
    outside = home.root / "elsewhere"
    outside.mkdir()
    runs.update_run(db, paused, run_dir=str(outside))  # a row pointing outside runs/: never removed
    assert main(["runs", "rm", str(paused), "--yes"]) == 0
    assert run_admin.delete(db, home, queued) == [home.run_dir(queued).resolve()]
    assert not home.run_dir(paused).exists() and not home.run_dir(queued).exists() and outside.is_dir()
    assert [r["id"] for r in runs.list_runs(db)] == []
    assert "deleted run" in capsys.readouterr().out


def test_a_training_run_is_not_deleted_and_rm_asks_without_yes(home, db, capsys):
    running = make_run(db, "r", status="running")
    with pytest.raises(ValueError, match="stop it first"):
        run_admin.delete(db, home, running)
    assert main(["runs", "rm", str(running), "--yes"]) == 2
    assert "stop it first" in capsys.readouterr().err
    done = make_run(db, "d", status="completed")
    assert main(["runs", "rm", str(done)]) == 2  # stdin is not a terminal: refuse without --yes
    assert runs.get_run(db, done)["status"] == "completed"


def test_rename_checks_the_name_and_updates_the_config(home, db, capsys):
    first = make_run(db, "first", status="completed")
    runs.update_run(db, first, config={"name": "first", "task": "causal-lm"})
    make_run(db, "second", status="completed")
    assert main(["runs", "rename", "first", "better"]) == 0
    row = runs.get_run(db, first)
    assert row["name"] == "better" and row["config"]["name"] == "better"
    assert main(["runs", "rename", "better", "second"]) == 2
    assert "already called 'second'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="name: use letters"):
        run_admin.rename(db, first, "no spaces")
    assert main(["runs", "--json"]) == 0
