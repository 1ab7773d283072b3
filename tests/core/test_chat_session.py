"""The chat engine on tiny models: streamed replies, hot-swapped adapters, stop, chat template, context."""
from __future__ import annotations

import threading

import pytest

from bench.compare import make_adapter
from studio.config import ConfigError
from studio.core.chat_request import Sampling
from studio.core.chat_session import ChatSession

GREEDY = Sampling(greedy=True, max_new_tokens=6, repetition_penalty=1.0)
HI = [{"role": "user", "content": "What is the capital of France?"}]


def folders(ref: str) -> tuple[str, str]:
    from pathlib import Path
    return Path(ref).name, ref


@pytest.fixture(scope="module")
def adapters(tiny_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("chat-adapters")
    return {"lora": str(make_adapter(tiny_models["gpt2"], root / "lora", "lora", scale=0.5)),
            "houlsby": str(make_adapter(tiny_models["gpt2"], root / "houlsby", "houlsby", options={"size": 8},
                                        scale=0.5, seed=1)),
            "cls": str(make_adapter(tiny_models["bert"], root / "cls", "lora", task="classification",
                                    labels=["neg", "pos"]))}


@pytest.fixture(scope="module")
def session(tiny_models, tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    s = ChatSession(str(tiny_models["gpt2"]), resolve=folders, models_dir=tmp_path_factory.mktemp("models"),
                    device="cpu")
    yield s
    s.close()


def reply(session, messages=HI, sampling=GREEDY, stop=None):
    pieces: list[str] = []
    result = session.generate(messages, sampling, pieces.append, stop or threading.Event())
    return pieces, result


def test_a_reply_streams_piece_by_piece_and_ends_with_its_stats(session):
    session.swap(None)
    pieces, result = reply(session)
    assert len(pieces) >= 2  # streamed, not one block at the end
    assert "".join(pieces) == result["text"]
    stats = result["stats"]
    assert 2 <= stats["tokens"] <= 6 and stats["stopped"] is False and stats["adapter"] is None
    assert stats["tokens_per_s"] > 0 and stats["prompt_tokens"] > 5


def test_swapping_adapters_changes_the_reply_and_the_base_comes_back(session, adapters):
    session.swap(None)
    base = reply(session)[1]["text"]
    lora = session.swap(adapters["lora"])
    assert lora["adapter"] == "lora" and lora["reloaded_base"] is False
    with_lora = reply(session)[1]
    assert with_lora["stats"]["adapter"] == "lora" and with_lora["text"] != base
    session.swap(adapters["houlsby"])  # one of our own methods on the same base
    assert reply(session)[1]["text"] not in (base, with_lora["text"])
    session.swap("none")
    assert reply(session)[1]["text"] == base  # bit-exact base again, no reload
    assert session.base_loads == 1


def test_a_seed_makes_sampling_repeatable(session):
    session.swap(None)
    sampled = Sampling(temperature=1.5, top_p=1.0, top_k=0, max_new_tokens=8, seed=7)
    assert reply(session, sampling=sampled)[1]["text"] == reply(session, sampling=sampled)[1]["text"]


def test_stop_ends_the_reply_early(session):
    session.swap(None)
    stop = threading.Event()
    pieces: list[str] = []

    def emit(text: str) -> None:
        pieces.append(text)
        if len(pieces) == 2:
            stop.set()  # as the stdin reader does when {"op": "stop"} arrives

    long = Sampling(greedy=True, max_new_tokens=60, repetition_penalty=1.0)
    result = session.generate(HI, long, emit, stop)
    assert result["stats"]["stopped"] is True
    assert result["stats"]["tokens"] <= 3 and len(pieces) <= 3


def test_a_reply_cut_by_max_new_tokens_says_so(session):
    session.swap(None)
    short = Sampling(greedy=True, max_new_tokens=3, repetition_penalty=1.0)
    stats = reply(session, sampling=short)[1]["stats"]
    assert stats["tokens"] == 3 and stats["finish_reason"] == "length" and stats["max_new_tokens"] == 3
    stop = threading.Event()
    stop.set()
    assert reply(session, sampling=short, stop=stop)[1]["stats"]["finish_reason"] == "stopped"


def test_a_conversation_is_rendered_with_the_chat_template(session):
    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
             {"role": "assistant", "content": "hello"}, {"role": "user", "content": "and now?"}]
    text = session.render(turns)
    assert text == ("<|system|>Be brief.<|end|>\n<|user|>hi<|end|>\n<|assistant|>hello<|end|>\n"
                    "<|user|>and now?<|end|>\n<|assistant|>")
    assert reply(session, turns)[1]["stats"]["prompt_tokens"] == len(session.tokenizer(text)["input_ids"])


def test_without_a_template_the_conversation_is_rendered_as_training_renders_chat(session, monkeypatch):
    monkeypatch.setattr(session.tokenizer, "chat_template", None)
    assert session.render(HI) == "<|user|>\nWhat is the capital of France?\n<|assistant|>\n"


def test_the_oldest_turns_go_when_the_conversation_outgrows_the_context(session):
    session.swap(None)
    long_turn = "The quick brown fox jumps over the lazy dog. " * 4  # ~40 tokens
    turns = []
    for _ in range(3):
        turns += [{"role": "user", "content": long_turn}, {"role": "assistant", "content": long_turn}]
    turns.append({"role": "user", "content": "hi"})
    result = reply(session, turns, Sampling(greedy=True, max_new_tokens=20))[1]
    assert result["stats"]["dropped_turns"] >= 1
    assert result["stats"]["prompt_tokens"] + 20 <= 128
    with pytest.raises(ConfigError) as e:
        reply(session, [{"role": "user", "content": long_turn * 3}], Sampling(max_new_tokens=20))
    assert e.value.path == "sampling.max_new_tokens"


def test_a_classification_adapter_is_refused_saying_why(session, adapters):
    with pytest.raises(ConfigError) as e:
        session.swap(adapters["cls"])
    assert e.value.path == "adapter" and "does not generate text" in str(e.value)


@pytest.mark.gpu
def test_on_cuda_the_reply_streams_swaps_and_stops(tiny_models, adapters, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("the CUDA path needs a CUDA device (the same steps run on CPU above)")
    s = ChatSession(str(tiny_models["gpt2"]), resolve=folders, models_dir=tmp_path, device="cuda")
    try:
        assert s.describe()["device"].startswith("cuda")
        base_pieces, base = reply(s)
        assert len(base_pieces) >= 2
        s.swap(adapters["lora"])
        assert reply(s)[1]["text"] != base["text"]
        stop = threading.Event()
        stop.set()
        stopped = s.generate(HI, Sampling(greedy=True, max_new_tokens=60), lambda t: None, stop)["stats"]
        assert stopped["stopped"] is True and stopped["tokens"] <= 1
    finally:
        s.close()
