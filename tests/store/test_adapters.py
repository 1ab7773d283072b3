"""Adapters: registration, unique names, lookup."""
from __future__ import annotations

import pytest

from studio.store.adapters import (
    AdapterNotFound, get_adapter, list_adapters, register_adapter, unique_adapter_name,
)


def test_register_and_get(db, run_id):
    adapter_id = register_adapter(
        db, name="my-lora", path="/a/my-lora", run_id=run_id, method="lora", base_model="gpt2",
        task="causal-lm", trainable_params=10, total_params=100, size_bytes=4096,
        metrics={"eval_loss": 1.2}, notes="first", tags=["chat", "small"],
    )
    adapter = get_adapter(db, "my-lora")
    assert adapter["id"] == adapter_id
    assert adapter["metrics"] == {"eval_loss": 1.2} and adapter["tags"] == ["chat", "small"]
    assert adapter["run_id"] == run_id and adapter["size_bytes"] == 4096
    assert adapter["created_at"] > 0


def test_defaults(db):
    register_adapter(db, name="bare", path="/a/bare")
    adapter = get_adapter(db, "bare")
    assert adapter["metrics"] == {} and adapter["tags"] == [] and adapter["run_id"] is None


def test_duplicate_name(db):
    register_adapter(db, name="dup", path="/a")
    with pytest.raises(ValueError, match="'dup'"):
        register_adapter(db, name="dup", path="/b")
    assert len(list_adapters(db)) == 1


def test_missing(db):
    with pytest.raises(AdapterNotFound, match="no adapter named 'ghost'"):
        get_adapter(db, "ghost")
    assert issubclass(AdapterNotFound, LookupError)


def test_list_newest_first(db):
    for name in ("a", "b", "c"):
        register_adapter(db, name=name, path=f"/{name}")
    assert [a["name"] for a in list_adapters(db)] == ["c", "b", "a"]


def test_unique_name(db):
    assert unique_adapter_name(db, "x") == "x"
    register_adapter(db, name="x", path="/x")
    assert unique_adapter_name(db, "x") == "x-2"
    register_adapter(db, name="x-2", path="/x2")
    register_adapter(db, name="x-4", path="/x4")
    assert unique_adapter_name(db, "x") == "x-3"
