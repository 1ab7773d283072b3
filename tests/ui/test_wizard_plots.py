"""The wizard's plots: the empty length histogram shows a hint, the LR preview's legend stays clear of
the curves with every layer group in it (issue 12, item 4)."""
from __future__ import annotations

from PySide6.QtCore import QRectF

from studio.ui.pages.wizard import WizardPage
from studio.ui.widgets.plot_legend import RowLegend

GROUPS = ["embeddings", *(f"block {i}" for i in range(12)), "head"]


def build(qtbot, home) -> WizardPage:
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    return page


def test_empty_histogram_shows_what_to_do_not_a_blank_axis(qtbot, home):
    step = build(qtbot, home).data_step
    assert step.lengths_view.currentWidget() is step.lengths_empty
    assert "training file" in step.lengths_empty.text()
    lengths = {"bins": [0, 100, 200, 300], "counts": [5, 3, 1], "max_length": 256, "longest": 290,
               "over": 1, "rows": 9}
    step._show_lengths(lengths)
    assert step.lengths_view.currentWidget() is step.plot
    (x0, x1), (y0, _) = step.plot.getViewBox().viewRange()
    assert x0 >= 0 and x1 >= 290 and y0 >= 0
    axis = step.plot.getAxis("bottom")
    assert "x0.001" not in axis.labelString() and axis.autoSIPrefixScale == 1.0
    step._show_lengths(None)
    assert step.lengths_view.currentWidget() is step.lengths_empty


def test_lr_preview_legend_below_the_curves_with_every_group(qtbot, home):
    page = build(qtbot, home)
    state = page.state
    state.methods = [{"name": "lora", "learning_rate": 2e-4, "options": [], "mergeable": True, "description": ""}]
    state.probe = {"cuda": False, "methods": [{"method": "lora",
                                               "layer_groups": [{"name": n, "params": 10} for n in GROUPS]}]}
    state.inspect = {"ok": True, "counts": {"train": 40, "validation": 0}}
    step = page.training_step
    step.enter()
    step.ulmfit.set_value("discriminative_decay", 2.6)
    assert len(step.curves) == len(GROUPS)
    qtbot.wait(50)
    item = step.plot.getPlotItem()
    assert isinstance(item.legend, RowLegend)
    view = item.getViewBox().sceneBoundingRect()
    widget = QRectF(step.plot.rect())
    names = [label.text.replace(" ⚠", "") for _, label in item.legend.items]  # ⚠: a group left unlearned
    assert names == GROUPS
    for _, label in item.legend.items:
        box = label.item.sceneBoundingRect()
        assert widget.contains(box) and not view.intersects(box), (label.text, box, view, widget)
