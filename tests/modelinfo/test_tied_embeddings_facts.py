"""'Tied embeddings' when config.json does not say: an encoder without an LM head has nothing to tie,
an LM whose head stores no weights of its own reuses the embedding (issue 12, item 8)."""
from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import save_file

from studio.modelinfo.facts import facts_for
from studio.modelinfo.sources import resolve_model
from studio.ui.widgets.model_detail import tied_text


def _model(folder, arch: str, tensors: dict) -> object:
    folder.mkdir()
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"architectures": [arch], "model_type": "llama",
                                                    "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 50}))
    return facts_for(folder)


def test_minilm_sample_has_no_lm_head_so_nothing_is_tied():
    facts = facts_for(resolve_model("sample:minilm").path)
    assert facts.lm_head is False and facts.tie_word_embeddings is False
    assert tied_text(facts.tie_word_embeddings, facts.lm_head) == "no (no LM head)"


def test_lm_without_key_is_tied_only_when_no_head_weights_are_stored(tmp_path):
    emb = np.zeros((50, 8), np.float32)
    block = {"model.layers.0.mlp.up_proj.weight": np.zeros((16, 8), np.float32)}
    shared = _model(tmp_path / "shared", "LlamaForCausalLM", {"model.embed_tokens.weight": emb, **block})
    own = _model(tmp_path / "own", "LlamaForCausalLM",
                 {"model.embed_tokens.weight": emb, "lm_head.weight": emb.copy(), **block})
    assert shared.lm_head is True and shared.tie_word_embeddings is True
    assert own.tie_word_embeddings is None
    assert tied_text(shared.tie_word_embeddings, shared.lm_head) == "yes"
    assert tied_text(own.tie_word_embeddings, own.lm_head).startswith("unknown")
