"""The bundled sample models resolve and load; the GGUF is converted once; the demo runs end to end."""
from __future__ import annotations

import pytest

from studio.modelinfo.sources import ModelNotFound, resolve_model
from tests.conftest import studio


def test_sample_refs_resolve_without_importing_their_packages():
    assert resolve_model("sample:minilm").kind == "folder"
    smol = resolve_model("sample:smollm2")
    assert smol.kind == "gguf" and smol.gguf_file.endswith(".gguf")
    with pytest.raises(ModelNotFound, match="unknown sample"):
        resolve_model("sample:nope")
    assert resolve_model("someone/some-model").kind == "hub"


@pytest.mark.slow
def test_gguf_is_converted_once_and_reused(tmp_path, monkeypatch):
    import transformers

    from studio.core.models import convert_gguf, load_model

    src = resolve_model("sample:smollm2")
    first = convert_gguf(src, tmp_path)
    assert (first / "model.safetensors").is_file() and (first / "tokenizer.json").is_file()

    def refuse(*a, **k):
        raise AssertionError("a second load must reuse the converted folder")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    assert convert_gguf(src, tmp_path) == first
    monkeypatch.undo()
    model = load_model(str(first), "causal-lm")
    assert sum(p.numel() for p in model.parameters()) == 134_515_008  # SmolLM2-135M, exactly


@pytest.mark.slow
def test_demo_trains_and_shows_before_and_after(home):
    proc = studio(home, "demo", "--steps", "2", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    err = proc.stderr
    assert "eval loss: before" in err and "→  after" in err
    assert "  before: " in err and "  after:  " in err
    assert "adapter: " in err
