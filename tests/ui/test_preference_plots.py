"""A preference run's monitor: reward chosen vs rejected, margin and accuracy beside the loss; the overlay
offers the same metrics. Metric names are those TRL's DPO / KTO / ORPO trainers log."""
from __future__ import annotations

import time

import numpy as np

from studio.store import metrics
from studio.ui.pages.runs import RunsPage
from studio.ui.widgets.preference_plots import PREFERENCE_METRICS, PreferencePlots, is_preference_metric
from studio.ui.widgets.run_overlay import PREFERRED, series_key
from studio.ui.widgets.run_plots import RunPlots
from tests.ui.conftest import add_losses, make_run


def dpo_rows(steps: range, eval_every: int = 5) -> list[tuple[int, str, float, float]]:
    """Rows shaped as the recorder stores a DPO run's logs: rewards drift apart, accuracy rises."""
    now, rows = time.time(), []
    for s in steps:
        chosen, rejected = 0.01 * s, -0.02 * s
        rows += [(s, "train_loss", 0.69 - 0.01 * s, now), (s, "rewards/chosen", chosen, now),
                 (s, "rewards/rejected", rejected, now), (s, "rewards/margins", chosen - rejected, now),
                 (s, "rewards/accuracies", min(1.0, 0.5 + 0.02 * s), now)]
        if s % eval_every == 0:
            rows += [(s, "eval_rewards/chosen", chosen, now), (s, "eval_rewards/accuracies", 0.6, now)]
    return rows


def series(rows: list[tuple[int, str, float, float]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[list, list]] = {}
    for step, name, value, _ in rows:
        out.setdefault(name, ([], []))
        out[name][0].append(step)
        out[name][1].append(value)
    return {n: (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)) for n, (x, y) in out.items()}


def test_reward_plots_stay_hidden_for_a_supervised_run(qtbot):
    plots = RunPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.add(series([(s, "train_loss", 1.0 / (s + 1), 0.0) for s in range(10)]))
    assert plots.loss_plot.point_count("train_loss") == 10
    assert not plots.preference.isVisible()
    assert not is_preference_metric("train_loss") and is_preference_metric("rewards/margins")


def test_fake_dpo_metrics_reach_reward_margin_and_accuracy_plots(qtbot):
    plots = RunPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.add(series(dpo_rows(range(1, 21))))
    pref = plots.preference
    assert pref.isVisible()
    assert plots.loss_plot.point_count("train_loss") == 20  # the loss keeps its own plot
    assert pref.reward_plot.point_count("rewards/chosen") == 20
    assert pref.reward_plot.point_count("rewards/rejected") == 20
    assert pref.reward_plot.point_count("eval_rewards/chosen") == 4
    assert pref.margin_plot.point_count("rewards/margins") == 20
    assert pref.accuracy_plot.point_count("rewards/accuracies") == 20
    assert pref.accuracy_plot.point_count("eval_rewards/accuracies") == 4
    _, margin = pref.margin_plot.buffer("rewards/margins").view()
    assert np.allclose(margin, 0.03 * np.arange(1, 21))
    # Each plot shows only its own figures: no rejected reward among the accuracies.
    assert pref.accuracy_plot.point_count("rewards/rejected") == 0
    plots.reset()  # another run selected
    assert not pref.isVisible() and pref.reward_plot.point_count("rewards/chosen") == 0


def test_kto_without_accuracy_still_shows_rewards(qtbot):
    plots = PreferencePlots()
    qtbot.addWidget(plots)
    rows = [r for r in dpo_rows(range(1, 6)) if r[1] != "rewards/accuracies"] + [(1, "kl", 0.1, 0.0)]
    assert plots.append(series(rows))
    plots.flush()
    assert plots.reward_plot.point_count("rewards/chosen") == 5
    assert plots.accuracy_plot.point_count("rewards/accuracies") == 0


def test_runs_page_shows_a_stored_preference_run(qtbot, store, home):
    run_id = make_run(store, name="dpo", status="completed", step=30, max_steps=30)
    metrics.add_metrics(store, run_id, dpo_rows(range(1, 31)))
    page = RunsPage(store, home)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    page.select_run(run_id)
    pref = page.detail.run_plots.preference
    qtbot.waitUntil(lambda: pref.margin_plot.point_count("rewards/margins") == 30, timeout=5000)
    assert pref.isVisible() and page.detail.loss_plot.point_count("train_loss") == 30


def test_overlay_offers_reward_metrics_after_the_losses(qtbot, store, home):
    ids = []
    for name, scale in (("beta-0.1", 1.0), ("beta-0.5", 2.0)):
        run_id = make_run(store, name=name, status="completed", step=10, max_steps=10)
        metrics.add_metrics(store, run_id, [(s, n, v * scale, t) for s, n, v, t in dpo_rows(range(1, 11))])
        ids.append(run_id)
    sft = make_run(store, name="sft", status="completed", step=10, max_steps=10)
    add_losses(store, sft, range(0, 10))
    page = RunsPage(store, home)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    page.select_runs([*ids, sft])
    overlay = page.overlay
    box = overlay.metric_box
    qtbot.waitUntil(lambda: box.findData("rewards/margins") >= 0, timeout=5000)
    offered = [box.itemData(i) for i in range(box.count())]
    assert offered.index("train_loss") < offered.index("rewards/chosen") < offered.index("rewards/margins")
    assert set(PREFERENCE_METRICS) - {"eval_rewards/rejected", "eval_rewards/margins"} <= set(offered)
    assert all(PREFERRED.index(m) < PREFERRED.index("lr") for m in PREFERENCE_METRICS)
    overlay.set_metric("rewards/margins")
    qtbot.waitUntil(lambda: overlay.curve_count() == 2, timeout=5000)  # the SFT run has no margin
    _, ys = overlay.plot.buffer(series_key(ids[1])).view()
    assert np.allclose(ys, 2.0 * 0.03 * np.arange(1, 11))
