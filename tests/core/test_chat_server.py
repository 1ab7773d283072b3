"""The chat-serve protocol against a fake session: requests in order, stop mid-reply, errors naming fields."""
from __future__ import annotations

import queue
import threading
import time

import pytest

from studio.config import ConfigError
from studio.core.chat_request import Sampling, parse_messages, parse_sampling
from studio.core.chat_server import ChatServer

HI = [{"role": "user", "content": "hi"}]


class FakeSession:
    """Streams "tok" pieces until stopped or max_new_tokens; records what it was asked."""

    def __init__(self, base: str) -> None:
        self.base, self.active, self.closed, self.started = base, None, False, threading.Event()

    def swap(self, ref):
        if ref == "cls":
            raise ConfigError("'cls' is a classification adapter: it does not generate text", "adapter")
        self.active = None if ref in (None, "none") else ref
        return {"adapter": self.active, "seconds": 0.0, "reloaded_base": False}

    def describe(self):
        return {"base": self.base, "adapter": self.active}

    def generate(self, messages, sampling, emit, stop):
        n = 0
        while n < sampling.max_new_tokens and not stop.is_set():
            emit("tok")
            n += 1
            self.started.set()
            time.sleep(0.01)
        return {"text": "tok" * n, "stats": {"tokens": n, "stopped": stop.is_set(), "messages": messages}}

    def close(self):
        self.closed = True


class Pipe:
    """stdin as the window writes it: lines arrive while the server runs."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def send(self, line: str) -> None:
        self.q.put(line + "\n")

    def __iter__(self):
        while (line := self.q.get()) is not None:
            yield line


def start(pipe: Pipe):
    events: list[dict] = []
    sessions: list[FakeSession] = []
    server = ChatServer(lambda base: sessions.append(FakeSession(base)) or sessions[-1], events.append)
    thread = threading.Thread(target=server.serve, args=(pipe,), daemon=True)
    thread.start()
    return server, thread, events, sessions


def wait(events, predicate, what):
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if any(predicate(e) for e in events):
            return [e for e in events if predicate(e)]
        time.sleep(0.01)
    raise AssertionError(f"no {what} in {events}")


def test_requests_are_answered_in_order_with_their_ids_and_errors_name_the_field():
    pipe = Pipe()
    server, thread, events, sessions = start(pipe)
    for line in ['{"op": "generate", "messages": [{"role": "user", "content": "hi"}]}', 'not json',
                 '{"op": "load"}', '{"op": "load", "base": "m", "adapter": "a", "id": 1}',
                 '{"op": "generate", "id": 2, "messages": [{"role": "user", "content": "hi"}], '
                 '"system": "Be brief.", "sampling": {"max_new_tokens": 3}}',
                 '{"op": "generate", "messages": [{"role": "bot", "content": "x"}]}',
                 '{"op": "generate", "messages": [{"role": "user", "content": "x"}], "sampling": {"top_p": 2}}',
                 '{"op": "swap", "adapter": "cls"}', '{"op": "swap", "adapter": null, "id": 3}', '{"op": "dance"}',
                 '{"op": "quit"}']:
        pipe.send(line)
    thread.join(10)
    assert not thread.is_alive() and sessions[0].closed
    kinds = [(e["event"], e.get("field")) for e in events if e["event"] != "token"]
    assert kinds == [("ready", None), ("error", "op"), ("error", None), ("error", "base"), ("loading", None),
                     ("loaded", None), ("done", None), ("error", "messages[0].role"), ("error", "sampling.top_p"),
                     ("error", "adapter"), ("swapped", None), ("error", "op")]
    assert "no base model loaded yet" in events[1]["message"]
    loaded = next(e for e in events if e["event"] == "loaded")
    assert loaded["id"] == 1 and loaded["adapter"] == "a"
    tokens = [e for e in events if e["event"] == "token"]
    assert len(tokens) == 3 and all(e["id"] == 2 for e in tokens)
    done = next(e for e in events if e["event"] == "done")
    assert done["id"] == 2 and done["stats"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "does not generate text" in next(e for e in events if e.get("field") == "adapter")["message"]


def test_stop_ends_the_running_reply_but_not_the_next_one():
    pipe = Pipe()
    server, thread, events, sessions = start(pipe)
    pipe.send('{"op": "load", "base": "m"}')
    pipe.send('{"op": "generate", "id": 1, "messages": [{"role": "user", "content": "hi"}], '
              '"sampling": {"max_new_tokens": 10000}}')
    wait(events, lambda e: e["event"] == "token", "token")
    pipe.send('{"op": "stop"}')
    done = wait(events, lambda e: e["event"] == "done", "done")[0]
    assert done["stats"]["stopped"] is True and done["stats"]["tokens"] < 10000
    pipe.send('{"op": "generate", "id": 2, "messages": [{"role": "user", "content": "hi"}], '
              '"sampling": {"max_new_tokens": 5}}')
    second = wait(events, lambda e: e["event"] == "done" and e.get("id") == 2, "second done")[0]
    assert second["stats"] == {**second["stats"], "tokens": 5, "stopped": False}
    pipe.q.put(None)  # end of input: the server exits
    thread.join(10)
    assert not thread.is_alive()


def test_a_stop_sent_right_after_a_request_still_stops_it():
    pipe = Pipe()
    server, thread, events, sessions = start(pipe)
    pipe.send('{"op": "load", "base": "m"}')
    pipe.send('{"op": "generate", "messages": [{"role": "user", "content": "hi"}], '
              '"sampling": {"max_new_tokens": 10000}}')
    pipe.send('{"op": "stop"}')  # before the reply's first token
    done = wait(events, lambda e: e["event"] == "done", "done")[0]
    assert done["stats"]["stopped"] is True and done["stats"]["tokens"] <= 1
    pipe.q.put(None)
    thread.join(10)


def test_sampling_and_messages_are_checked_naming_the_field():
    assert parse_sampling(None) == Sampling()
    assert parse_sampling({"greedy": True, "seed": None, "top_k": 0}).generate_kwargs()["do_sample"] is False
    bad = [({"temperature": 0}, "sampling.temperature"), ({"top_k": 1.5}, "sampling.top_k"),
           ({"max_new_tokens": "9"}, "sampling.max_new_tokens"), ({"greedy": 1}, "sampling.greedy"),
           ({"colour": 1}, "sampling.colour"), ([1], "sampling")]
    for raw, field in bad:
        with pytest.raises(ConfigError) as e:
            parse_sampling(raw)
        assert e.value.path == field, raw
    with pytest.raises(ConfigError) as e:
        parse_messages([*HI, {"role": "assistant", "content": "hello"}])
    assert e.value.path == "messages[1].role" and "last message must be the user's" in str(e.value)
    with pytest.raises(ConfigError) as e:
        parse_messages([{"role": "user", "content": 3}])
    assert e.value.path == "messages[0].content"
    assert parse_messages(HI, "  ") == HI  # a blank system prompt is no system turn
