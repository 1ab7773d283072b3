"""`studio chat-serve` (the window's chat child: JSON lines on stdin/stdout) and `studio chat` (a terminal chat)."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    """Add this module's subcommands."""
    s = sub.add_parser(
        "chat-serve", help="chat engine for the window: JSON-lines requests on stdin, events on stdout",
        description="Reads one JSON request a line: {\"op\": \"load\", \"base\": M, \"adapter\": A}, "
                    "{\"op\": \"swap\", \"adapter\": A|null}, {\"op\": \"generate\", \"messages\": [...], "
                    "\"system\": S, \"sampling\": {greedy, temperature, top_p, top_k, max_new_tokens, "
                    "repetition_penalty, seed}}, {\"op\": \"stop\"}, {\"op\": \"quit\"}. Writes events: ready, "
                    "loading, loaded, swapped, token, done, error. Adapters: library names or folders.")
    s.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the base runs")
    s.set_defaults(run=run_serve)
    c = sub.add_parser("chat", help="chat with a base model (and an adapter) in the terminal",
                       description="Type a message and press Enter; the reply streams. /adapter NAME swaps "
                                   "(/adapter none: the base alone), /clear forgets the conversation, /quit ends.")
    c.add_argument("--base", metavar="MODEL", help="base model (default: the adapter's base)")
    c.add_argument("--adapter", metavar="A", help="adapter name in the library or adapter folder")
    c.add_argument("--system", default="", help="system prompt")
    c.add_argument("--greedy", action="store_true", help="greedy decoding instead of sampling")
    c.add_argument("--temperature", type=float, default=0.7, metavar="T")
    c.add_argument("--top-p", type=float, default=0.9, metavar="P")
    c.add_argument("--top-k", type=int, default=50, metavar="K", help="0: no top-k cut")
    c.add_argument("--max-new-tokens", type=int, default=256, metavar="N")
    c.add_argument("--repetition-penalty", type=float, default=1.1, metavar="R")
    c.add_argument("--seed", type=int, default=None, help="fixed seed for every reply (default: a fresh one)")
    c.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the base runs")
    c.set_defaults(run=run_chat)


def resolver(db):
    """(name, folder) of an adapter reference: a library name first, else a folder."""
    from studio.config import ConfigError
    from studio.store.adapters import AdapterNotFound, get_adapter

    def resolve(ref: str) -> tuple[str, str]:
        try:
            row = get_adapter(db, ref)
            return row["name"], row["path"]
        except AdapterNotFound:
            folder = Path(ref).expanduser()
            if not folder.is_dir():
                raise ConfigError(f"{ref!r}: no adapter of that name in the library (studio adapters) and no "
                                  "such folder", "adapter") from None
            return folder.name, str(folder.resolve())
    return resolve


def run_serve(args, home, db) -> int:
    from studio.core.chat_server import ChatServer, json_line_writer
    from studio.core.chat_session import ChatSession

    events = sys.stdout
    sys.stdout = sys.stderr  # only events on stdout: a library's print must not break the protocol
    device = None if args.device == "auto" else args.device
    server = ChatServer(lambda base: ChatSession(base, resolve=resolver(db), models_dir=home.models_dir,
                                                 device=device), json_line_writer(events))
    return server.serve(sys.stdin)


def run_chat(args, home, db) -> int:
    import threading

    from studio.core.chat_request import parse_messages, parse_sampling
    from studio.core.chat_session import ChatSession

    resolve = resolver(db)
    base = args.base
    if not base:
        if not args.adapter:
            raise ValueError("chat: give --base MODEL and/or --adapter A")
        from studio.core.compare import read_adapter
        info = read_adapter(*resolve(args.adapter))
        base = info.base_model or info.base_model_path
    sampling = parse_sampling({"greedy": args.greedy, "temperature": args.temperature, "top_p": args.top_p,
                               "top_k": args.top_k, "max_new_tokens": args.max_new_tokens,
                               "repetition_penalty": args.repetition_penalty, "seed": args.seed})
    print(f"loading {base} …", file=sys.stderr)
    session = ChatSession(base, resolve=resolve, models_dir=home.models_dir,
                          device=None if args.device == "auto" else args.device)
    session.swap(args.adapter)
    print(f"ready ({session.adapter or 'base only'}); /adapter NAME, /clear, /quit", file=sys.stderr)
    history: list[dict[str, str]] = []
    stop = threading.Event()
    try:
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                return 0
            if line in ("/quit", "/exit"):
                return 0
            if line == "/clear":
                history.clear()
                continue
            if line.startswith("/adapter"):
                print(f"now: {session.swap(line.split(maxsplit=1)[1] if ' ' in line else None)['adapter'] or 'base'}")
                continue
            if not line:
                continue
            history.append({"role": "user", "content": line})
            print("model> ", end="", flush=True)
            try:
                result = session.generate(parse_messages(history, args.system), sampling,
                                          lambda text: print(text, end="", flush=True), stop)
            except KeyboardInterrupt:  # Ctrl+C ends the reply, not the chat
                history.pop()
                print(" [stopped]")
                continue
            history.append({"role": "assistant", "content": result["text"]})
            st = result["stats"]
            print(f"\n  [{st['tokens']} tokens, {st['tokens_per_s']} tokens/s]", file=sys.stderr)
    finally:
        session.close()
