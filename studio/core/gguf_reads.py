"""Read a GGUF file once while converting it, instead of once per question transformers asks.

transformers 5.23 builds a fresh `gguf.GGUFReader` for the config, for the tokenizer's config and
for the tensors (each parses every metadata field, the 49k-token vocabulary included: ~10 s of CPU
for SmolLM2-135M), and rebuilds gguf's tensor-name map once per module while it maps tensor names
(~400 times for a 30-layer model). Both are pure functions of their arguments, so sharing them
while one conversion runs gives the same weights in a third of the time.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def shared_gguf_reads() -> Iterator[None]:
    """Within the block, one GGUFReader per (path, mode) and one tensor-name map per (arch, blocks)."""
    import gguf

    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, str], Any] = {}

    def reader(path: Any, mode: str = "r") -> Any:
        key = (str(path), mode)
        if key not in readers:  # read-only memory maps: one serves every caller
            readers[key] = original_reader(path, mode)
        return readers[key]

    # transformers imports both names from the gguf module at each call, so patching the module works.
    gguf.GGUFReader = reader
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = original_reader, original_map
        readers.clear()  # the memory maps close with the last reference
