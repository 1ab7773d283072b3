"""The Method step's cards: grouped, LoRA on screen without scrolling, a recommended default with its
reason, formulas behind Details (issue 12, item 13)."""
from __future__ import annotations

from PySide6.QtCore import QRect

from studio.ui.pages.wizard import WizardPage
from studio.ui.pages.wizard.method_groups import formula, grouped, recommend, summary

NAMES = ["bitfit", "compacter", "dora", "full", "houlsby", "ia3", "lora", "pfeiffer", "prefix", "prompt",
         "qlora", "top_k"]  # alphabetical, as `studio methods --json` lists them
GIB = 2 ** 30


def infos():
    return [{"name": n, "mergeable": n in ("lora", "dora", "qlora", "ia3", "bitfit", "top_k", "full"),
             "learning_rate": 2e-4, "options": [],
             "description": f"{n} does one thing well. Trainable parameters: r·(d_in + d_out) per matrix, "
                            f"about 0.1% of {n}. Choose it sometimes."} for n in NAMES]


def method_step(qtbot, home, task="causal-lm"):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)
    state = page.state
    state.config["task"] = task
    state.methods = infos()
    state.methods_loaded.emit()
    page.stack.setCurrentWidget(page.method_step)
    qtbot.wait(50)
    return page.method_step


def test_groups_in_order_with_every_method_once():
    groups = grouped(NAMES + ["new_method"])
    assert [g[0] for g in groups] == ["Recommended", "Classic adapters", "Prompt-based", "Selective & full",
                                      "Other"]
    assert groups[0][2][0] == "lora"
    assert sorted(n for _, _, names in groups for n in names) == sorted(NAMES + ["new_method"])


def test_recommendation_rule():
    assert recommend("causal-lm", 2 * GIB, 16 * GIB).method == "lora"
    tight = recommend("causal-lm", 15 * GIB, 16 * GIB)
    assert tight.method == "qlora" and "15.0 GiB" in tight.why
    assert recommend("causal-lm", None, None).method == "lora"  # nothing known: the default
    assert recommend("classification", 15 * GIB, 16 * GIB).method == "lora"
    info = infos()[0]
    assert summary(info) == "bitfit does one thing well."
    assert formula(info) == "Trainable parameters: r·(d_in + d_out) per matrix, about 0.1% of bitfit."


def test_cards_grouped_lora_visible_and_marked(qtbot, home):
    step = method_step(qtbot, home)
    assert list(step.headers) == ["Recommended", "Classic adapters", "Prompt-based", "Selective & full"]
    lora = step.cards["lora"]
    scroll = lora.parentWidget().parentWidget().parentWidget()  # card → host → viewport → scroll area
    top_left = lora.mapTo(scroll, lora.rect().topLeft())
    assert QRect(0, 0, scroll.width(), scroll.height()).contains(QRect(top_left, lora.size())), \
        (top_left, lora.size(), scroll.size())
    assert step.recommended == "lora" and lora.badge.isVisible() and "★ Recommended" in lora.badge.text()
    assert not step.cards["houlsby"].badge.isVisible()
    # The formulas are one click away, not on every card.
    assert not lora.description.isVisible() and "Trainable parameters" in lora.details.toolTip()
    lora.details.click()
    assert lora.description.isVisible() and "Trainable parameters" in lora.description.text()
    # A card above the fold in the old alphabetical grid (bitfit) now sits below the recommended group.
    assert step.cards["bitfit"].y() > lora.y()


def test_tight_memory_recommends_qlora(qtbot, home, monkeypatch):
    from studio.ui.pages.wizard import method_recommend

    monkeypatch.setattr(method_recommend, "lora_estimate", lambda state: 30 * GIB)
    monkeypatch.setattr(method_recommend, "machine_memory", lambda probe: 32 * GIB)
    step = method_step(qtbot, home)
    step._show_probe()
    assert step.recommended == "qlora" and step.cards["qlora"].badge.isVisible()
    assert not step.cards["lora"].badge.isVisible()
