"""A chat with one base model and hot-swapped adapters: the engine behind `studio chat-serve`.

The base loads once (studio/core/hotswap.py swaps adapters onto it, as Compare does); each reply is
rendered with the tokenizer's chat template, streamed token by token through a callback, and stopped
early when a flag set from another thread (the stdin reader) is raised.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.config import ConfigError
from studio.core.chat_request import Sampling
from studio.core.hotswap import BASE, AdapterInfo, AdapterSwapper

# End-of-turn tokens of common chat templates: generation stops there even when the model's eos differs.
END_OF_TURN = ("<|im_end|>", "<|end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>", "<|eot|>")
Emit = Callable[[str], None]


class TokenStream:
    """A transformers streamer handing each new piece of text to `emit` as soon as it decodes whole."""

    def __init__(self, tokenizer: Any, emit: Emit) -> None:
        self.tokenizer, self.emit = tokenizer, emit
        self.ids: list[int] = []
        self.text = ""
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        """Called by generate(): first with the prompt (skipped), then with each new token."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.ids += value.reshape(-1).tolist()
        self._flush(final=False)

    def end(self) -> None:
        """Called by generate() once it is done."""
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if not final and text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
            return
        if text.startswith(self.text) and len(text) > len(self.text):
            self.emit(text[len(self.text):])
            self.text = text
        elif not text.startswith(self.text):  # decoding merged across the boundary: resend nothing, adopt
            self.text = text


class StopFlag:
    """A StoppingCriteria that ends generation once `event.is_set()` (a stop read by the stdin thread)."""

    def __init__(self, event: Any) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class ChatSession:
    """A base model loaded once; adapters (library names resolved by `resolve`) swapped onto it."""

    def __init__(self, base: str, *, resolve: Callable[[str], tuple[str, str]],
                 models_dir: str | Path | None = None, device: str | None = None) -> None:
        from studio.core.models import model_folder

        self.base_ref, self.resolve, self.models_dir, self.device = base, resolve, models_dir, device
        if models_dir is None:
            from studio.paths import resolve_home
            self.models_dir = resolve_home().models_dir
        self.folder = model_folder(base, Path(self.models_dir))
        self.load_kwargs: dict[str, Any] = {}
        self.swapper: AdapterSwapper | None = None
        self.base_loads = 0
        self._load_base({})

    def _load_base(self, load_kwargs: dict[str, Any]) -> None:
        if self.swapper is not None:
            self.swapper.close()
        self.swapper = AdapterSwapper(self.base_ref, "causal-lm", device=self.device, models_dir=self.models_dir,
                                      load_kwargs=load_kwargs)
        self.load_kwargs = load_kwargs
        self.base_loads += 1

    @property
    def tokenizer(self) -> Any:
        """The base's tokenizer (adapters are trained on it)."""
        return self.swapper.tokenizer

    @property
    def adapter(self) -> str | None:
        """The active adapter's name, None for the base alone."""
        return None if self.swapper.active == BASE else self.swapper.active

    def swap(self, ref: str | None) -> dict[str, Any]:
        """Make adapter `ref` (library name or folder; None/"none"/"base": the base alone) active."""
        if ref in (None, "", "none", BASE):
            return {"adapter": None, "seconds": self.swapper.activate(BASE), "reloaded_base": False}
        name, folder = self.resolve(ref)
        info = self._check(name, folder)
        reloaded = False
        wanted = self._load_kwargs_for(info)
        if wanted != self.load_kwargs:  # a QLoRA adapter needs its quantized base (and the others a plain one)
            self._load_base(wanted)
            reloaded = True
        if name not in self.swapper.adapters:
            self.swapper.add_info(info)
        return {"adapter": name, "seconds": self.swapper.activate(name), "reloaded_base": reloaded}

    def _check(self, name: str, folder: str) -> AdapterInfo:
        from studio.core.compare import base_mismatch, read_adapter

        known = self.swapper.adapters.get(name)
        if known is not None:
            return known
        info = read_adapter(name, folder)
        if info.task != "causal-lm":
            raise ConfigError(f"{name!r} is a {info.task} adapter: it predicts labels and does not generate "
                              "text, so it cannot chat (compare it on the Compare page)", "adapter")
        problem = base_mismatch(self.base_ref, self.folder, info)
        if problem:
            raise ConfigError(problem.replace("--base", "base"), "adapter")
        return info

    def _load_kwargs_for(self, info: AdapterInfo) -> dict[str, Any]:
        from studio import methods
        from studio.core.models import method_load_kwargs

        if info.method not in methods.names() or not methods.get(info.method).load_kwargs:
            return {}
        import torch

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        return method_load_kwargs(info.method, info.options, device)

    # --- replies
    def render(self, messages: list[dict[str, str]]) -> str:
        """The conversation as the model reads it, ending where the assistant's reply begins."""
        from studio.core.tokenize import has_chat_template

        tok = self.tokenizer
        if not has_chat_template(tok):  # as training renders a chat row without a template
            return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"
        try:
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - some templates refuse a system turn: fold it into the first user turn
            if messages[0]["role"] != "system" or len(messages) < 2:
                raise
            first = {"role": messages[1]["role"], "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}
            return tok.apply_chat_template([first, *messages[2:]], tokenize=False, add_generation_prompt=True)

    def _encode(self, messages: list[dict[str, str]], max_new_tokens: int) -> tuple[Any, int]:
        """Input ids of the conversation; the oldest turns are dropped when it would not fit the context."""
        from studio.core.tokenize import has_chat_template

        limit = _context_length(self.swapper.base.config)
        specials = not has_chat_template(self.tokenizer)  # a template writes bos & co. itself
        head = 1 if messages[0]["role"] == "system" else 0
        dropped = 0
        while True:
            ids = self.tokenizer(self.render(messages), return_tensors="pt", add_special_tokens=specials)["input_ids"]
            if limit is None or ids.shape[1] + max_new_tokens <= limit:
                return ids, dropped
            if len(messages) - head <= 1:
                raise ConfigError(f"the last message ({ids.shape[1]} tokens) and {max_new_tokens} new tokens do "
                                  f"not fit the model's context of {limit} tokens", "sampling.max_new_tokens")
            messages = messages[:head] + messages[head + 2:]  # one user/assistant exchange at a time
            while len(messages) > head and messages[head]["role"] != "user":
                messages = messages[:head] + messages[head + 1:]
            dropped += 1

    def _eos_ids(self) -> list[int]:
        tok, model = self.tokenizer, self.swapper.base
        configured = model.generation_config.eos_token_id
        ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
        if tok.eos_token_id is not None:
            ids.add(tok.eos_token_id)
        vocab = tok.get_vocab()
        ids.update(vocab[t] for t in END_OF_TURN if t in vocab)
        return sorted(ids)

    def generate(self, messages: list[dict[str, str]], sampling: Sampling, emit: Emit,
                 stop: Any) -> dict[str, Any]:
        """Stream the reply to `messages` through `emit`; returns its text and stats (ends early once
        `stop.is_set()`, e.g. a threading.Event)."""
        import torch
        import transformers
        from transformers import StoppingCriteriaList

        transformers.set_seed(sampling.seed if sampling.seed is not None else int(time.time_ns() % 2**32))
        ids, dropped = self._encode(messages, sampling.max_new_tokens)
        ids = ids.to(self.swapper.base.get_input_embeddings().weight.device)
        stream = TokenStream(self.tokenizer, emit)
        start = time.perf_counter()
        with torch.no_grad():
            out = self.swapper.model().generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), streamer=stream,
                stopping_criteria=StoppingCriteriaList([StopFlag(stop)]), eos_token_id=self._eos_ids(),
                pad_token_id=self.tokenizer.pad_token_id, **sampling.generate_kwargs())
        seconds = time.perf_counter() - start
        n = int(out.shape[1] - ids.shape[1])
        ended = n > 0 and int(out[0, -1]) in self._eos_ids()  # an end token that came at the very limit
        reason = "stopped" if stop.is_set() else "length" if n >= sampling.max_new_tokens and not ended else "stop"
        return {"text": stream.text, "stats": {
            "tokens": n, "seconds": round(seconds, 3), "tokens_per_s": round(n / seconds, 2) if seconds > 0 else None,
            "prompt_tokens": int(ids.shape[1]), "stopped": stop.is_set(), "dropped_turns": dropped,
            "adapter": self.adapter, "finish_reason": reason, "max_new_tokens": sampling.max_new_tokens}}

    def describe(self) -> dict[str, Any]:
        """What is loaded: base, device, chat template, active adapter, timings."""
        from studio.core.tokenize import has_chat_template

        s = self.swapper
        return {"base": self.base_ref, "device": str(s.base.device), "chat_template": has_chat_template(s.tokenizer),
                "adapter": self.adapter, "base_load_s": round(s.base_load_s, 3), "base_loads": self.base_loads,
                "context": _context_length(s.base.config)}

    def close(self) -> None:
        """Free the model."""
        if self.swapper is not None:
            self.swapper.close()
            self.swapper = None


def _context_length(config: Any) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None
