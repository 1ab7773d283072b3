"""Combining LoRA adapters of one base (PEFT's add_weighted_adapter): a loadable adapter, linear (1, 0)
is the first adapter, and what cannot be combined is refused with the reason."""
from __future__ import annotations

import json

import pytest
import torch

from studio.core.generate import load_with_adapter
from studio.library import merge
from studio.library.inspect import describe
from studio.store import adapters as store
from tests.library.conftest import logits, make_adapter


@pytest.fixture
def two_loras(tmp_path, tiny_models):
    base = tiny_models["llama"]
    return (make_adapter(tmp_path / "a", base, "llama", "lora", seed=1),
            make_adapter(tmp_path / "b", base, "llama", "lora", seed=2))


def test_linear_one_zero_is_the_first_adapter(tmp_path, two_loras):
    a, b = two_loras
    out = merge.merge_to_folder([a, b], [1.0, 0.0], tmp_path / "mix")
    mixed = logits(load_with_adapter(out)[0])
    torch.testing.assert_close(mixed, logits(load_with_adapter(a)[0]), atol=1e-5, rtol=0)
    assert not torch.allclose(mixed, logits(load_with_adapter(b)[0]), atol=1e-3)
    meta = json.loads((out / "studio.json").read_text())
    assert meta["method"] == "lora" and meta["combination"] == "linear" and meta["source"] == "merged"
    assert [m["weight"] for m in meta["merged_from"]] == [1.0, 0.0] and meta["method_options"]["r"] == 4


@pytest.mark.parametrize("combination", ["ties", "dare_linear", "cat"])
def test_other_combinations_give_a_loadable_adapter(tmp_path, two_loras, combination):
    a, b = two_loras
    out = merge.merge_to_folder([a, b], [0.5, 0.5], tmp_path / "mix", combination=combination)
    mixed = logits(load_with_adapter(out)[0])
    assert torch.isfinite(mixed).all()
    assert not torch.allclose(mixed, logits(load_with_adapter(a)[0]), atol=1e-4)
    info = describe(out)
    assert info.method == "lora" and info.settings["r"] == (8 if combination == "cat" else 4)
    assert json.loads((out / "studio.json").read_text())["density"] == (None if combination == "cat" else 0.5)


def test_merge_into_the_library(tmp_path, two_loras, home, db):
    a, b = two_loras
    row = merge.merge_into_library(db, home, [a, b], [0.7, 0.3], "blend", combination="ties", density=0.8)
    assert (row["name"], row["method"], row["source"], row["task"]) == ("blend", "lora", "merged", "causal-lm")
    assert row["path"] == str(home.adapter_dir("blend")) and store.get_adapter(db, "blend")
    assert sorted(p.name for p in home.adapters_dir.iterdir()) == ["blend"]
    with pytest.raises(ValueError, match="already exists"):
        merge.merge_into_library(db, home, [a, b], [0.5, 0.5], "blend")


def test_what_cannot_be_combined_is_refused(tmp_path, tiny_models, two_loras):
    a, b = two_loras

    def refused(dirs, weights=(0.5, 0.5), combination="linear"):
        with pytest.raises(ValueError) as e:
            merge.merge_to_folder(dirs, list(weights), tmp_path / "never", combination=combination)
        assert not (tmp_path / "never").exists()
        return str(e.value)

    other = make_adapter(tmp_path / "other", tiny_models["gpt2"], "gpt2", "lora")
    assert "adapters of one base only" in refused([a, other])
    ia3 = make_adapter(tmp_path / "ia3", tiny_models["llama"], "llama", "ia3")
    assert "ia3 adapter; only LoRA" in refused([a, ia3])
    dora = make_adapter(tmp_path / "dora", tiny_models["llama"], "llama", "dora")
    assert "magnitude" in refused([a, dora])
    cls = make_adapter(tmp_path / "cls", tiny_models["bert"], "bert", "lora")
    assert "head" in refused([cls, cls])
    r8 = make_adapter(tmp_path / "r8", tiny_models["llama"], "llama", "lora", options={"r": 8})
    assert "use cat or svd" in refused([a, r8])
    assert "one weight per adapter" in refused([a, b], weights=(1.0,))
    assert "two or more" in refused([a], weights=(1.0,))
    assert "choose one of" in refused([a, b], combination="average")
