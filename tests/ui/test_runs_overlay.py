"""Several runs selected: their curves overlaid on one plot and a table of the config keys that differ."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel

from studio.store import runs
from studio.ui.pages.runs import RunsPage
from studio.ui.widgets.config_diff import ConfigDiffTable, differing_keys, flatten
from studio.ui.widgets.run_overlay import run_label, series_key
from tests.ui.conftest import add_losses, make_run


def config(lr: float, r: int = 8, schedule: str = "cosine", **extra) -> dict:
    return {"name": "x", "task": "causal-lm", "model": "tiny",
            "method": {"name": "lora", "options": {"r": r, "alpha": 16}},
            "training": {"learning_rate": lr, "epochs": 3, "schedule": schedule, **extra}}


def three_runs(db) -> list[int]:
    ids = []
    for name, cfg in (("a", config(1e-4)), ("b", config(2e-4)), ("c", config(1e-4, r=16, schedule="stlr"))):
        run_id = make_run(db, name=name, status="completed", step=20, max_steps=20)
        runs.update_run(db, run_id, config=cfg)
        add_losses(db, run_id, range(0, 20 + 5 * len(ids)))
        add_losses(db, run_id, range(0, 20, 5), name="eval_loss")
        ids.append(run_id)
    return ids


def build(qtbot, db, home) -> RunsPage:
    page = RunsPage(db, home)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    return page


def test_flatten_and_differing_keys():
    a, b = config(1e-4), config(2e-4, r=16, warmup_ratio=0.1)
    assert flatten(a)["method.options.r"] == 8 and flatten(a)["training.learning_rate"] == 1e-4
    assert differing_keys([a, b]) == ["method.options.r", "training.learning_rate", "training.warmup_ratio"]
    assert differing_keys([a, dict(a)]) == []
    assert differing_keys([{"data": {"columns": ["a", "b"]}}, {"data": {"columns": ["a"]}}]) == ["data.columns"]


def test_several_runs_selected_show_one_curve_each_and_their_differences(qtbot, store, home):
    a, b, c = three_runs(store)
    page = build(qtbot, store, home)
    assert page.views.currentWidget() is page.detail
    page.select_runs([a, b, c])
    overlay = page.overlay
    assert page.views.currentWidget() is overlay and overlay.run_ids == [c, b, a]  # table order
    qtbot.waitUntil(lambda: overlay.curve_count() == 3, timeout=5000)
    assert [overlay.plot.point_count(series_key(i)) for i in (a, b, c)] == [20, 25, 30]
    legend = {label.text for _, label in overlay.plot.getPlotItem().legend.items}
    assert legend == {f"#{a} a", f"#{b} b", f"#{c} c"}

    diff = overlay.diff
    assert diff.keys == ["method.options.r", "training.learning_rate", "training.schedule"]
    assert [diff.horizontalHeaderItem(i).text() for i in range(3)] == [f"#{c} c", f"#{b} b", f"#{a} a"]
    assert [diff.item(1, col).text() for col in range(3)] == ["0.0001", "0.0002", "0.0001"]
    assert diff.item(2, 0).text() == "stlr"
    assert "3 config settings differ" in overlay.diff_label.text()


def test_switching_metric_reuses_the_curves(qtbot, store, home):
    a, b, _ = three_runs(store)
    page = build(qtbot, store, home)
    page.select_runs([a, b])
    overlay = page.overlay
    qtbot.waitUntil(lambda: overlay.curve_count() == 2, timeout=5000)
    curve = overlay.plot.curve(series_key(a))
    assert overlay.metric_box.findData("eval_loss") >= 0
    assert overlay.metric_box.itemData(0) == "train_loss"  # the usual metrics first
    overlay.set_metric("eval_loss")
    assert overlay.metric == "eval_loss"
    assert overlay.plot.point_count(series_key(a)) == 4 and overlay.plot.curve(series_key(a)) is curve
    overlay.set_metric("train_loss")
    assert overlay.plot.point_count(series_key(b)) == 25


def test_overlay_follows_new_rows_and_a_run_leaving_the_selection(qtbot, store, home):
    a, b, c = three_runs(store)
    page = build(qtbot, store, home)
    page.select_runs([a, b, c])
    overlay = page.overlay
    qtbot.waitUntil(lambda: overlay.curve_count() == 3, timeout=5000)
    add_losses(store, a, range(20, 60))  # still training: the plot timer picks the rows up
    qtbot.waitUntil(lambda: overlay.plot.point_count(series_key(a)) == 60, timeout=5000)
    page.select_runs([a, b])
    assert overlay.run_ids == [b, a] and overlay.curve_count() == 2
    assert overlay.plot.point_count(series_key(c)) == 0
    assert overlay.diff.keys == ["training.learning_rate"]


def test_selection_survives_a_new_run_and_back_to_one_run(qtbot, store, home):
    a, b, _ = three_runs(store)
    page = build(qtbot, store, home)
    page.select_runs([a, b])
    make_run(store, name="new", status="completed")  # the table is rebuilt at the next refresh
    page.refresh()
    assert sorted(page.selected_run_ids()) == [a, b] and page.views.currentWidget() is page.overlay
    page.table.selectionModel().select(
        page.model.index(page.model.row_of(b), 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    assert page.views.currentWidget() is page.detail and page.detail.run_id == b
    assert page.overlay.run_ids == []  # its feeds and caches are let go


def test_identical_configs_say_so(qtbot):
    table = ConfigDiffTable()
    qtbot.addWidget(table)
    runs_ = [{"id": 1, "name": "a", "config": config(1e-4)}, {"id": 2, "name": "b", "config": config(1e-4)}]
    table.set_runs(runs_)
    assert table.rowCount() == 0 and table.columnCount() == 2
    assert run_label(runs_[0]) == "#1 a"
