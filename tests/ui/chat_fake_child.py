"""A fake `studio chat-serve` for the Chat page's tests: the same JSON-lines protocol, no model.

Replies are "w0 w1 …" one word every 40 ms until max_new_tokens or a stop; the stats carry how many
messages came (so multi-turn is visible). A message "crash" makes it die like a real crash (stderr
traceback, exit 3); "fail" answers with an error event.
"""
import json
import os
import queue
import sys
import threading
import time

out_lock = threading.Lock()
stop = threading.Event()


def write(event):
    with out_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def reader(q):
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "stop":
            stop.set()
        else:
            q.put(request)
    q.put(None)


def main():
    q = queue.Queue()
    write({"event": "ready", "protocol": 1})
    threading.Thread(target=reader, args=(q,), daemon=True).start()
    adapter = None
    while (request := q.get()) is not None:
        op, echo = request.get("op"), ({"id": request["id"]} if "id" in request else {})
        if op == "quit":
            return
        if op == "load":
            adapter = request.get("adapter")
            write({"event": "loading", "base": request["base"], **echo})
            time.sleep(0.05)
            write({"event": "loaded", "base": request["base"], "adapter": adapter, "device": "cpu",
                   "chat_template": True, "base_load_s": 0.05, **echo})
        elif op == "swap":
            adapter = request.get("adapter")
            write({"event": "swapped", "adapter": adapter, "seconds": 0.01, "reloaded_base": False, **echo})
        elif op == "generate":
            last = request["messages"][-1]["content"]
            if last == "crash":
                sys.stderr.write("Traceback (most recent call last):\nRuntimeError: CUDA error: boom\n")
                sys.stderr.flush()
                os._exit(3)
            if last == "fail":
                write({"event": "error", "op": "generate", "message": "sampling.top_p: must be > 0",
                       "field": "sampling.top_p", **echo})
                continue
            stop.clear()
            text, n = "", 0
            while n < request["sampling"]["max_new_tokens"] and not stop.is_set():
                piece = f"w{n} "
                write({"event": "token", "text": piece, **echo})
                text, n = text + piece, n + 1
                time.sleep(0.04)
            write({"event": "done", "text": text, **echo, "stats": {
                "tokens": n, "seconds": 0.1, "tokens_per_s": 10.0 * n, "stopped": stop.is_set(),
                "adapter": adapter, "messages": len(request["messages"]),
                "system": request.get("system"), "dropped_turns": 0,
                "finish_reason": "stopped" if stop.is_set() else "length"}})


if __name__ == "__main__":
    main()
