"""GGUF export of a tiny Llama through llama.cpp's converter and the gguf quantisers: the file reloads
(dequantised) close to base + adapter, carries the chat template and end tokens, gets a Modelfile, and
a broken template, a truncated file or a failure mid-convert are caught or leave nothing behind."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.library import gguf_export
from studio.library.bundle import OutputExists
from studio.library.export import NotMergeable
from studio.library.gguf_check import read_metadata
from tests.library.conftest import make_adapter
from tests.library.gguf_tiny import CHATML, make_gguf_llama


@pytest.fixture(scope="module")
def gguf_adapter(tmp_path_factory):
    """A LoRA adapter on the converter-friendly tiny Llama."""
    root = tmp_path_factory.mktemp("gguf")
    base = make_gguf_llama(root / "base")
    return make_adapter(root / "adapter", base, "llama", "lora", scale=0.2)


def test_q4_0_export_reloads_close_to_the_adapter_and_keeps_chat_metadata(tmp_path, gguf_adapter):
    stages = []
    out = tmp_path / "out" / "tiny-q4_0.gguf"
    record = gguf_export.export_gguf(gguf_adapter, out, quant="q4_0", progress=lambda s, f: stages.append(s))
    assert record["verified"], record["reason"]
    assert record["tokens"] > 0 and record["agreement"] >= 0.6
    assert 0 < record["relative_logit_diff"] <= 0.4  # quantised: close, not equal
    assert stages.index("converting (llama.cpp)") < stages.index("quantising q4_0") < stages.index("verifying")
    meta = read_metadata(out)
    assert meta["tokenizer.chat_template"] == CHATML
    tokens = meta["_tokens"]
    assert tokens[int(meta["tokenizer.ggml.eos_token_id"])] == "<|im_end|>"
    assert tokens[int(meta["tokenizer.ggml.bos_token_id"])] == "<s>"
    assert "Q4_0" in meta["_tensor_types"] and meta["general.file_type"] == 2  # LlamaFileType.MOSTLY_Q4_0
    modelfile = out.with_suffix(".Modelfile").read_text()
    assert modelfile.startswith("FROM ./tiny-q4_0.gguf\n")
    assert "<|im_start|>{{ .Role }}" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    saved = json.loads(out.with_suffix(".verification.json").read_text())
    assert saved["verified"] and saved["ollama_family"] == "chatml" and saved["size_bytes"] == out.stat().st_size
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny-q4_0.Modelfile", "tiny-q4_0.gguf",
                                                           "tiny-q4_0.verification.json"]


def test_f16_from_the_converter_is_near_exact(tmp_path, gguf_adapter):
    record = gguf_export.export_gguf(gguf_adapter, tmp_path / "tiny-f16.gguf", quant="f16")
    assert record["verified"] and record["agreement"] == 1.0
    assert record["relative_logit_diff"] < 0.02
    assert read_metadata(tmp_path / "tiny-f16.gguf")["_tensor_types"] == ["F16", "F32"]


def _convert_then(damage):
    def convert(merged: Path, outfile: Path, outtype: str) -> None:
        gguf_export.run_converter(merged, outfile, outtype)
        damage(merged, outfile)
    return convert


def test_a_lost_chat_template_is_caught(tmp_path, gguf_adapter):
    from gguf import GGUFReader, GGUFWriter

    def drop_template(merged: Path, outfile: Path) -> None:  # a converter that loses the template
        reader = GGUFReader(str(outfile))
        plain = outfile.with_name("plain.gguf")
        writer = GGUFWriter(str(plain), arch=reader.get_field("general.architecture").contents())
        for f in reader.fields.values():
            if f.name in ("general.architecture", "tokenizer.chat_template") or f.name.startswith("GGUF."):
                continue
            writer.add_key_value(f.name, f.contents(), f.types[0], sub_type=f.types[-1] if len(f.types) > 1 else None)
        for t in reader.tensors:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in reader.tensors:
            writer.write_tensor_data(t.data)
        writer.close()
        plain.replace(outfile)

    out = tmp_path / "lost.gguf"
    record = gguf_export.export_gguf(gguf_adapter, out, quant="f32", convert=_convert_then(drop_template))
    assert not record["verified"]
    assert "chat template is missing" in record["reason"]
    assert out.is_file()  # kept, marked unverified: the user decides
    assert "<|im_start|>" in out.with_suffix(".Modelfile").read_text()  # the Modelfile still has it


def test_a_truncated_gguf_is_caught(tmp_path, gguf_adapter):
    def truncate(merged: Path, outfile: Path) -> None:
        data = outfile.read_bytes()
        outfile.write_bytes(data[: len(data) * 2 // 3])

    record = gguf_export.export_gguf(gguf_adapter, tmp_path / "cut.gguf", quant="f32", convert=_convert_then(truncate))
    assert not record["verified"]
    assert "unreadable" in record["reason"] or "failed" in record["reason"]


def test_failure_mid_convert_leaves_nothing_and_nothing_is_overwritten(tmp_path, gguf_adapter):
    def crash(merged: Path, outfile: Path, outtype: str) -> None:
        outfile.write_bytes(b"GGUF" + b"\0" * 1000)  # half a file, then the converter dies
        raise gguf_export.ConversionFailed("injected failure")

    with pytest.raises(gguf_export.ConversionFailed):
        gguf_export.export_gguf(gguf_adapter, tmp_path / "x.gguf", quant="f16", convert=crash)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "x.Modelfile").write_text("mine")
    with pytest.raises(OutputExists):
        gguf_export.export_gguf(gguf_adapter, tmp_path / "x.gguf", quant="f16", convert=crash)
    assert (tmp_path / "x.Modelfile").read_text() == "mine"


def test_refusals_name_the_reason(tmp_path, tiny_models, gguf_adapter):
    with pytest.raises(gguf_export.UnsupportedQuant, match="llama-quantize"):
        gguf_export.export_gguf(gguf_adapter, tmp_path / "k.gguf", quant="q4_k_m")
    with pytest.raises(gguf_export.UnsupportedQuant, match="choose one of"):
        gguf_export.export_gguf(gguf_adapter, tmp_path / "k.gguf", quant="q3")
    classifier = make_adapter(tmp_path / "cls", tiny_models["bert"], "bert", "lora")
    with pytest.raises(NotMergeable, match="classifier cannot be exported as GGUF"):
        gguf_export.export_gguf(classifier, tmp_path / "c.gguf")
    prefix = make_adapter(tmp_path / "prefix", tiny_models["llama"], "llama", "prefix")
    with pytest.raises(NotMergeable, match="cannot be merged"):
        gguf_export.export_gguf(prefix, tmp_path / "p.gguf")
    assert not list(tmp_path.glob("*.gguf"))


def test_size_estimate_follows_bits_per_weight():
    assert gguf_export.estimate_size(1000, "f16") == 2000
    assert gguf_export.estimate_size(1000, "q8_0") < gguf_export.estimate_size(1000, "f16")
    assert gguf_export.estimate_size(1000, "q4_0") < gguf_export.estimate_size(1000, "q8_0")
