"""GGUF conversion shares one reader and one tensor-name map per file, and only while it runs."""
from __future__ import annotations

import gguf
import numpy as np

from studio.core.gguf_reads import shared_gguf_reads


def _tiny_gguf(path):
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    writer.add_tensor("blk.0.attn_norm.weight", np.arange(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_one_reader_and_one_name_map_inside_the_block_fresh_ones_outside(tmp_path):
    path = _tiny_gguf(tmp_path / "tiny.gguf")
    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    plain = gguf.GGUFReader(path)
    with shared_gguf_reads():
        first, second = gguf.GGUFReader(path), gguf.GGUFReader(str(path))
        assert first is second  # the config, tokenizer and tensor reads share one parse
        assert isinstance(first, original_reader)
        assert [t.name for t in first.tensors] == [t.name for t in plain.tensors]
        assert np.array_equal(first.tensors[0].data, plain.tensors[0].data)
        assert list(first.fields) == list(plain.fields)
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
        assert gguf.get_tensor_name_map(arch, 2).get_name("model.layers.1.self_attn.q_proj") == "blk.1.attn_q"
    assert gguf.GGUFReader is original_reader and gguf.get_tensor_name_map is original_map
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)  # nothing is kept after the conversion
