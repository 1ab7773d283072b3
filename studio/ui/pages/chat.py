"""The Chat page: talk to a base model with or without an adapter, replies streamed as they are written.

The model lives in a `studio chat-serve` child (ChatProcess): the base loads once, adapters swap in, and
the window only sends JSON requests and shows the events, so it never waits and never imports torch.
Multi-turn history with edit/regenerate/clear; the conversation can go to the Compare page as prompts.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QPushButton, QScrollArea, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)

from studio.paths import Home
from studio.store import adapters
from studio.ui.widgets.chat_controls import ChatControls
from studio.ui.widgets.chat_model import ChatModelPicker, sample_refs
from studio.ui.widgets.chat_process import ChatProcess
from studio.ui.widgets.chat_transcript import EMPTY, READY, ChatTranscript, one_line, stats_note


class ChatPage(QWidget):
    """Model and settings on the left; the conversation, the input and its actions on the right."""

    message = Signal(str)
    send_to_compare = Signal(list, str, list)  # prompts, base, adapters to check
    child_command: list[str] | None = None  # tests: a fake chat-serve child instead of `studio chat-serve`

    def __init__(self, db: Any, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._home = db, home
        self.proc: ChatProcess | None = None
        self.ready = False  # the child said "ready": requests go out; before that they wait in _outbox
        self._outbox: list[dict[str, Any]] = []
        self.loaded: dict[str, Any] | None = None  # the "loaded" event: base, device, adapter
        self.busy: str | None = None  # loading | swapping | generating
        self.turns: list[dict[str, str]] = []
        self.notes: dict[int, str] = {}
        self._request_id = 0
        self._samples: list[str] | None = None

        self.picker = ChatModelPicker()
        self.picker.load_requested.connect(self.load)
        self.picker.adapter_picked.connect(self._adapter_picked)
        self.picker.base.currentTextChanged.connect(lambda _t: self._update())
        self.controls = ChatControls()
        left_box = QWidget()
        left = QVBoxLayout(left_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.picker)
        left.addWidget(self.controls)
        left.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left_box)

        self.state = QLabel("No model loaded.")
        self.state.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restart_button = QPushButton("Restart")
        self.restart_button.setToolTip("Start the chat process again and reload the model; the conversation stays")
        self.restart_button.clicked.connect(self.restart)
        error_row = QHBoxLayout()
        error_row.addWidget(self.error, 1)
        error_row.addWidget(self.restart_button, 0, Qt.AlignmentFlag.AlignTop)
        self.transcript = ChatTranscript()
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Message the model — Enter sends, Shift+Enter starts a new line")
        self.input.setMaximumHeight(90)
        self.input.installEventFilter(self)
        self.send_button = self._button("Send", "Send the message (Enter)", self.send)
        self.stop_button = self._button("Stop", "Stop the reply being written (what is written stays)", self.stop)
        self.regen_button = self._button("Regenerate", "Write the last reply again (with a random seed: a new one)",
                                         self.regenerate)
        self.edit_button = self._button("Edit last", "Take your last message back into the box to change it "
                                        "(its reply is removed)", self.edit_last)
        self.clear_button = self._button("Clear", "Start a new conversation", self.clear)
        self.compare_button = QToolButton()
        self.compare_button.setText("Send to Compare")
        self.compare_button.setToolTip("Open the Compare page with this conversation as prompts, this base and "
                                       "this adapter checked")
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.compare_button)
        menu.addAction("Your messages as prompts (one row each)", lambda: self.to_compare(whole=False))
        menu.addAction("The whole conversation as one prompt", lambda: self.to_compare(whole=True))
        self.compare_button.setMenu(menu)
        send_row = QHBoxLayout()
        send_row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        send_row.addLayout(buttons)
        actions = QHBoxLayout()
        for w in (self.regen_button, self.edit_button, self.clear_button):
            actions.addWidget(w)
        actions.addStretch(1)
        actions.addWidget(self.compare_button)
        right_box = QWidget()
        right = QVBoxLayout(right_box)
        right.addWidget(self.state)
        right.addLayout(error_row)
        right.addWidget(self.transcript, 1)
        right.addLayout(send_row)
        right.addLayout(actions)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right_box)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 900])
        QVBoxLayout(self).addWidget(self.splitter)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._show_error(None)
        self._update()

    def _button(self, text: str, tip: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # --- store
    def refresh(self) -> None:
        """Re-read the library's adapters (and, once, the causal-lm sample models)."""
        if self._samples is None:
            self._samples = sample_refs()
        self.picker.set_library(adapters.list_adapters(self._db), self._samples)
        self._update()

    def chat_with(self, base: str, adapter: str | None = None) -> None:
        """Pick a base and adapter (e.g. from the Adapters page); Load starts the chat."""
        self.refresh()
        self.picker.select(base, adapter)
        self._update()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    # --- the child
    def _send(self, request: dict[str, Any]) -> None:
        if self.proc is None or not self.proc.running:
            self.proc = ChatProcess(self._home, self.child_command, self)
            self.proc.event.connect(self._on_event)
            self.proc.died.connect(self._on_died)
            self.ready = False
            self.proc.start()
        if self.ready:
            self.proc.send(request)
        else:
            self._outbox.append(request)

    def load(self) -> None:
        """Load the base (and adapter) in the chat process, starting it when needed."""
        base = self.picker.base_ref()
        if not base or self.busy:
            return
        self._show_error(None)
        self.busy = "loading"
        self._outbox = [r for r in self._outbox if r.get("op") != "load"]
        self._send({"op": "load", "base": base, "adapter": self.picker.adapter_name()})
        self.state.setText(f"Loading {base}… (the first load of a big model can take a minute)")
        self._update()

    def restart(self) -> None:
        """After a crash: a new chat process, the last model loaded again; the conversation stays."""
        self.shutdown()
        self.busy = None
        self.load()

    def shutdown(self) -> None:
        """End the chat process (the window is closing, or a restart)."""
        if self.proc is not None:
            self.proc.shutdown()
            self.proc.deleteLater()
            self.proc = None
        self.ready, self._outbox, self.loaded = False, [], None

    def _adapter_picked(self, adapter: str | None) -> None:
        if self.loaded and not self.busy and self.picker.base_ref() == self.loaded["base"]:
            self.busy = "swapping"
            self._send({"op": "swap", "adapter": adapter})
            self.state.setText(f"Swapping in {adapter or 'the base alone'}…")
        self._update()

    # --- the conversation
    def send(self) -> None:
        """Send the typed message and stream the reply."""
        text = self.input.toPlainText().strip()
        if not text or not self.loaded or self.busy:
            return
        self.input.clear()
        self.turns.append({"role": "user", "content": text})
        self._generate()

    def _generate(self) -> None:
        self._request_id += 1
        self.busy = "generating"
        self._show_error(None)
        self.transcript.begin_reply(self.turns, self.notes)
        self._send({"op": "generate", "id": self._request_id, "messages": self.turns,
                    "system": self.controls.system_prompt(), "sampling": self.controls.sampling()})
        self.state.setText(f"Writing… ({self._model_words()})")
        self._update()

    def stop(self) -> None:
        """Stop the reply being written; what was written stays in the conversation."""
        if self.busy == "generating" and self.proc is not None:
            self.proc.send({"op": "stop"})

    def regenerate(self) -> None:
        """Write the last reply again."""
        if self.busy or not self.loaded or not self.turns:
            return
        if self.turns[-1]["role"] == "assistant":
            self.notes.pop(len(self.turns) - 1, None)
            self.turns.pop()
        self._generate()

    def edit_last(self) -> None:
        """Put the last user message back in the box (its reply goes)."""
        if self.busy or not self.turns:
            return
        while self.turns and self.turns[-1]["role"] == "assistant":
            self.notes.pop(len(self.turns) - 1, None)
            self.turns.pop()
        if self.turns:
            self.input.setPlainText(self.turns.pop()["content"])
        self.transcript.show_turns(self.turns, self.notes)
        self.input.setFocus()
        self._update()

    def clear(self) -> None:
        """Forget the conversation."""
        if self.busy == "generating":
            return
        self.turns, self.notes = [], {}
        self.transcript.show_turns([])
        self._update()

    def to_compare(self, whole: bool = False) -> None:
        """The Compare page with the user turns (or the whole conversation, one line) as prompts."""
        user = [" ".join(t["content"].split()) for t in self.turns if t["role"] == "user"]
        if not user:
            self.message.emit("Nothing to compare yet: send a message first")
            return
        prompts = [one_line(self.turns)] if whole else user
        adapter = self.loaded.get("adapter") if self.loaded else self.picker.adapter_name()
        base = self.loaded["base"] if self.loaded else self.picker.base_ref()
        self.send_to_compare.emit(prompts, base, [adapter] if adapter else [])

    # --- events
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "ready":
            self.ready = True
            outbox, self._outbox = self._outbox, []
            for request in outbox:
                self.proc.send(request)
        elif kind == "loaded":
            self.loaded, self.busy = event, None
            self.transcript.hint = READY
            if not self.turns:
                self.transcript.show_turns([])
            self.state.setText(f"{self._model_words()} — loaded in {event.get('base_load_s', 0):.1f} s on "
                               f"{event.get('device')}" + ("" if event.get("chat_template") else
                                                           "; no chat template: turns are sent as <|role|> blocks"))
        elif kind == "swapped":
            self.loaded = {**(self.loaded or {}), "adapter": event.get("adapter")}
            self.busy = None
            how = " (the base was reloaded: QLoRA needs its own)" if event.get("reloaded_base") else ""
            self.state.setText(f"{self._model_words()} — swapped in {event.get('seconds', 0):.2f} s{how}")
        elif kind == "token" and event.get("id") == self._request_id and self.busy == "generating":
            self.transcript.append_reply(event.get("text", ""))
        elif kind == "done" and event.get("id") == self._request_id:
            self._reply_done(event)
        elif kind == "error":
            self._request_failed(event)
        self._update()

    def _reply_done(self, event: dict[str, Any]) -> None:
        self.busy = None
        stats = event.get("stats") or {}
        self.turns.append({"role": "assistant", "content": event.get("text", self.transcript.reply)})
        self.notes[len(self.turns) - 1] = stats_note(stats)
        self.transcript.show_turns(self.turns, self.notes)
        self.state.setText(f"{self._model_words()} — {stats_note(stats, adapter=False)}")

    def _request_failed(self, event: dict[str, Any]) -> None:
        op, message = event.get("op"), event.get("message", "unknown error")
        if op == "load":
            self.loaded = None
        elif op == "swap" and self.loaded:  # the child keeps the adapter it had
            self.picker.select(self.loaded["base"], self.loaded.get("adapter"))
        if op == "generate":
            self.transcript.show_turns(self.turns, self.notes)  # the user turn stays: Regenerate retries
        self.busy = None
        self._show_error(f"{op or 'request'} failed: {message}", restart=False)
        self.state.setText(self._model_words() if self.loaded else "No model loaded.")

    def _on_died(self, message: str) -> None:
        if self.busy == "generating":
            self.transcript.show_turns(self.turns, self.notes)
        self.busy, self.loaded, self.ready, self._outbox = None, None, False, []
        self.transcript.hint = EMPTY
        self._show_error(message + "\nRestart starts it again and reloads the model; the conversation stays.")
        self.state.setText("No model loaded.")
        self.message.emit("The chat process ended unexpectedly")
        self._update()

    def _show_error(self, text: str | None, restart: bool = True) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))
        self.restart_button.setVisible(bool(text) and restart)

    def _model_words(self) -> str:
        if not self.loaded:
            return "no model"
        return f"{self.loaded['base']} + {self.loaded['adapter']}" if self.loaded.get("adapter") else \
            f"{self.loaded['base']} (base only)"

    def _update(self) -> None:
        idle = self.busy is None
        has_turns = bool(self.turns)
        self.picker.setEnabled(self.busy not in ("loading", "generating", "swapping"))
        same = self.loaded is not None and self.picker.base_ref() == self.loaded.get("base")
        self.picker.load_button.setText("Reload" if same else "Load")
        self.picker.load_button.setEnabled(idle and bool(self.picker.base_ref()))
        self.send_button.setEnabled(idle and self.loaded is not None)
        self.stop_button.setEnabled(self.busy == "generating")
        self.regen_button.setEnabled(idle and self.loaded is not None and has_turns)
        self.edit_button.setEnabled(idle and has_turns)
        self.clear_button.setEnabled(self.busy != "generating" and has_turns)
        self.compare_button.setEnabled(any(t["role"] == "user" for t in self.turns))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the input box sends; Shift+Enter is a new line."""
        if watched is self.input and event.type() == QEvent.Type.KeyPress:
            key = QKeyEvent(event) if not isinstance(event, QKeyEvent) else event
            if key.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                    not key.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.send()
                return True
        return super().eventFilter(watched, event)
