"""The `studio chat-serve` protocol: JSON-lines requests in, JSON-lines events out.

Requests (one JSON object a line): {"op": "load", "base", "adapter"?}, {"op": "swap", "adapter"},
{"op": "generate", "messages", "system"?, "sampling"?}, {"op": "stop"}, {"op": "quit"}; any may carry an
"id" that its events repeat. Events: ready, loading, loaded, swapped, token {"text"}, done {"text",
"stats" (its "finish_reason": "length" when max_new_tokens cut the reply, "stop", or "stopped")}, error {"message", "field"?, "op"}. A reader thread takes the requests off stdin so that "stop"
lands while a reply is being generated; everything else runs in order on the calling thread.
"""
from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from studio.config import ConfigError
from studio.core.chat_request import parse_messages, parse_sampling

PROTOCOL = 1
OPS = ("load", "swap", "generate", "stop", "quit")
Write = Callable[[dict[str, Any]], None]


class StopSignal:
    """Stop for replies requested so far: a "stop" ends the reply being made or queued before it, never a
    later one (the reader numbers generate requests as they arrive; `current` is the one running)."""

    def __init__(self) -> None:
        self.requested = 0  # generate requests read so far
        self.upto = 0  # every reply numbered up to this one is to stop
        self.current = 0

    def press(self) -> None:
        """A "stop" was read: it covers everything asked before it."""
        self.upto = self.requested

    def is_set(self) -> bool:
        """Whether the running reply is to stop."""
        return 0 < self.current <= self.upto


class ChatServer:
    """Runs requests against one ChatSession made by `open_session(base)` (replaced by each load)."""

    def __init__(self, open_session: Callable[[str], Any], write: Write) -> None:
        self.open_session, self._write = open_session, write
        self.session: Any = None
        self.stop = StopSignal()
        self._lock = threading.Lock()  # one line at a time, whichever thread writes

    def write(self, event: dict[str, Any]) -> None:
        """Send one event (a line of JSON)."""
        with self._lock:
            self._write(event)

    def serve(self, lines: Iterable[str]) -> int:
        """Answer requests until "quit" or the end of input; returns the exit code."""
        requests: queue.Queue = queue.Queue()

        def read() -> None:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                except ValueError as e:  # answered in turn, like any request
                    request = {"_invalid": f"not a JSON object: {e}"}
                if isinstance(request, dict) and request.get("op") == "stop":
                    self.stop.press()  # at once, even mid-reply
                    continue
                if isinstance(request, dict) and request.get("op") == "generate":
                    self.stop.requested += 1
                    request["_seq"] = self.stop.requested
                requests.put(request)
            # End of input: answer what was asked, then exit. (A window that died mid-reply closes our
            # stdout too, so the next token's write fails and the reply ends there.)
            requests.put(None)

        self.write({"event": "ready", "protocol": PROTOCOL})
        threading.Thread(target=read, name="chat-stdin", daemon=True).start()
        try:
            while True:
                request = requests.get()
                if request is None or (isinstance(request, dict) and request.get("op") == "quit"):
                    return 0
                self.handle(request)
        finally:
            if self.session is not None:
                self.session.close()

    def handle(self, request: Any) -> None:
        """Run one request; a failure becomes an error event (naming the field when a value was wrong)."""
        op = request.get("op") if isinstance(request, dict) else None
        echo = {"id": request["id"]} if isinstance(request, dict) and "id" in request else {}
        try:
            if not isinstance(request, dict):
                raise ConfigError(f"a request is a JSON object, got {type(request).__name__}", "op")
            if "_invalid" in request:
                raise ConfigError(request["_invalid"])
            if op not in OPS:
                raise ConfigError(f"must be one of {', '.join(OPS)}, got {op!r}", "op")
            getattr(self, f"_{op}")(request, echo)
        except ConfigError as e:
            self.write({"event": "error", "message": str(e), "field": e.path, "op": op, **echo})
        except Exception as e:  # noqa: BLE001 - the child stays up for the next request
            self.write({"event": "error", "message": f"{type(e).__name__}: {e}", "op": op, **echo})

    def _need(self, request: dict[str, Any], key: str) -> Any:
        if request.get(key) in (None, ""):
            raise ConfigError(f"{request['op']} needs {key!r}", key)
        return request[key]

    def _load(self, request: dict[str, Any], echo: dict[str, Any]) -> None:
        base = self._need(request, "base")
        if not isinstance(base, str):
            raise ConfigError(f"must be a model name or folder, got {base!r}", "base")
        self.write({"event": "loading", "base": base, **echo})
        if self.session is not None:
            self.session.close()
            self.session = None
        self.session = self.open_session(base)
        swapped = self.session.swap(request.get("adapter"))
        self.write({"event": "loaded", **self.session.describe(), "swap_s": round(swapped["seconds"], 3), **echo})

    def _swap(self, request: dict[str, Any], echo: dict[str, Any]) -> None:
        if self.session is None:
            raise ConfigError("no base model loaded yet: send load first", "op")
        adapter = request.get("adapter")
        if adapter is not None and not isinstance(adapter, str):
            raise ConfigError(f"must be an adapter name, a folder or null, got {adapter!r}", "adapter")
        result = self.session.swap(adapter)
        self.write({"event": "swapped", "adapter": result["adapter"], "seconds": round(result["seconds"], 3),
                    "reloaded_base": result["reloaded_base"], **echo})

    def _generate(self, request: dict[str, Any], echo: dict[str, Any]) -> None:
        if self.session is None:
            raise ConfigError("no base model loaded yet: send load first", "op")
        messages = parse_messages(request.get("messages"), request.get("system"))
        sampling = parse_sampling(request.get("sampling"))
        self.stop.current = request.get("_seq", self.stop.requested)
        result = self.session.generate(messages, sampling, lambda text: self.write(
            {"event": "token", "text": text, **echo}), self.stop)
        self.write({"event": "done", **result, **echo})


def json_line_writer(stream: Any) -> Write:
    """Write events to `stream` as JSON lines, flushed at once (the window reads them as they come)."""
    def write(event: dict[str, Any]) -> None:
        stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        stream.flush()
    return write
