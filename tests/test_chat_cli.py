"""`studio chat-serve` and `studio chat` as real processes: JSON lines only on stdout, library adapters by name."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from bench.compare import make_adapter
from studio.store.adapters import register_adapter
from studio.store.db import open_db
from tests.conftest import ROOT

def child(home, *args):
    env = dict(os.environ, STUDIO_HOME=str(home.root), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "studio", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


@pytest.fixture
def library_lora(home, tiny_models, tmp_path):
    folder = make_adapter(tiny_models["llama"], tmp_path / "lora", "lora", scale=0.5)
    db = open_db(home.db_path)
    register_adapter(db, name="my-lora", path=folder, method="lora", base_model=str(tiny_models["llama"]),
                     task="causal-lm")
    db.conn.close()
    return "my-lora"


@pytest.mark.slow  # a child that imports torch and loads a model (~10-30 s on a 2-core box)
def test_chat_serve_speaks_json_lines_and_takes_library_adapters(home, tiny_models, library_lora):
    proc = child(home, "chat-serve", "--device", "cpu")

    def ask(request, until):
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        events = []
        while not events or events[-1]["event"] not in until:
            line = proc.stdout.readline()
            assert line, f"chat-serve ended early: {proc.stderr.read()[-2000:]}"
            events.append(json.loads(line))  # every stdout line is an event: nothing else gets there
        return events

    try:
        assert json.loads(proc.stdout.readline()) == {"event": "ready", "protocol": 1}
        loaded = ask({"op": "load", "base": str(tiny_models["llama"]), "adapter": library_lora, "id": 1},
                     ("loaded", "error"))[-1]
        assert loaded["event"] == "loaded" and loaded["adapter"] == "my-lora" and loaded["chat_template"] is True
        events = ask({"op": "generate", "messages": [{"role": "user", "content": "hi"}],
                      "sampling": {"greedy": True, "max_new_tokens": 5}}, ("done", "error"))
        tokens = [e["text"] for e in events if e["event"] == "token"]
        assert len(tokens) >= 2 and "".join(tokens) == events[-1]["text"]
        assert events[-1]["stats"]["adapter"] == "my-lora"
        bad = ask({"op": "swap", "adapter": "nope"}, ("swapped", "error"))[-1]
        assert bad["event"] == "error" and bad["field"] == "adapter" and "no adapter of that name" in bad["message"]
        proc.stdin.write('{"op": "quit"}\n')
        proc.stdin.flush()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


# In this process: torch is imported already, the tiny model loads in a second.
def test_studio_chat_in_the_terminal_streams_a_reply(home, tiny_models, library_lora, monkeypatch, capsys):
    from studio.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n/adapter none\nhi again\n/quit\n"))
    assert main(["chat", "--adapter", library_lora, "--greedy", "--max-new-tokens", "4", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert out.count("model> ") == 2 and "now: base" in out
    assert "ready (my-lora)" in err and err.count("tokens/s]") == 2
