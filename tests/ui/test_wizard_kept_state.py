"""Wizard state that stays put (issue 12, item 2): each method keeps its options when another is
chosen, and every card counts the options that method has now."""
from __future__ import annotations

import pytest

from studio.ui.pages.wizard import WizardPage
from tests.ui.wizard_fakes import fake_cli, trainable  # noqa: F401 (fake_cli: a fixture)


@pytest.fixture
def page(qtbot, home, fake_cli):
    page = WizardPage(None, home)
    qtbot.addWidget(page)
    page.state.config.update(name="r", model="sample:smollm2", data={"train": "/data/x.jsonl"})
    return page


def _probes(fake_cli) -> int:
    return sum(1 for c in fake_cli.calls if c[0] == "probe")


def _counted(qtbot, page, name: str, n: int) -> None:
    card = page.method_step.cards[name]
    qtbot.waitUntil(lambda: card.counts.text().startswith(f"{n:,} of"), timeout=5000)


def test_options_are_kept_per_method_and_cards_count_the_kept_size(qtbot, page, fake_cli):
    step = page.method_step
    step.enter()
    qtbot.waitUntil(lambda: "lora" in step.cards, timeout=5000)
    _counted(qtbot, page, "lora", trainable("lora", {}))
    step.options.set_value("r", 16)
    assert page.state.config["method"] == {"name": "lora", "r": 16}
    _counted(qtbot, page, "lora", 16_000)

    step.cards["houlsby"].radio.click()
    assert step.options.value("size") == 64 and page.state.config["method"] == {"name": "houlsby"}
    step.options.set_value("size", 128)
    _counted(qtbot, page, "houlsby", 1280)
    assert step.cards["lora"].counts.text().startswith("16,000 of")  # LoRA's kept r, not the default r=8

    probes = _probes(fake_cli)
    step.cards["lora"].radio.click()
    assert step.options.value("r") == 16 and page.state.config["method"] == {"name": "lora", "r": 16}
    _counted(qtbot, page, "lora", 16_000)
    _counted(qtbot, page, "houlsby", 1280)  # the size chosen for Houlsby, not the default 64
    assert _probes(fake_cli) == probes  # both were counted before: no new child process


def test_a_kept_size_never_counted_says_the_count_is_for_the_defaults(qtbot, page, fake_cli):
    state = page.state
    state.method_options["houlsby"] = {"size": 256}  # entered, but switched away before it was counted
    step = page.method_step
    step.enter()
    qtbot.waitUntil(lambda: "lora" in step.cards, timeout=5000)
    _counted(qtbot, page, "houlsby", trainable("houlsby", {}))
    assert "for the default options" in step.cards["houlsby"].counts.text()
    assert "for the default options" not in step.cards["lora"].counts.text()
    step.cards["houlsby"].radio.click()
    _counted(qtbot, page, "houlsby", 2560)
    assert "for the default options" not in step.cards["houlsby"].counts.text()
