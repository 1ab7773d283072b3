"""Quantise a 32-bit GGUF with the `gguf` package's own quantisers (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).

The metadata is copied as the `gguf-new-metadata` script copies it; every 2-D weight whose rows split
into whole quantisation blocks is quantised, 1-D tensors (norms, biases) stay 32-bit as llama.cpp's
own quantiser leaves them. Tensors go one at a time, so memory holds one tensor, not the model.
K-quants (Q4_K_M ...) have no Python quantiser: they need llama.cpp's `llama-quantize` binary.
"""
from __future__ import annotations

from pathlib import Path

# our name -> (GGMLQuantizationType name, LlamaFileType name)
PY_QUANTS = {"q8_0": ("Q8_0", "MOSTLY_Q8_0"), "q5_1": ("Q5_1", "MOSTLY_Q5_1"), "q5_0": ("Q5_0", "MOSTLY_Q5_0"),
             "q4_1": ("Q4_1", "MOSTLY_Q4_1"), "q4_0": ("Q4_0", "MOSTLY_Q4_0")}


def quantize_gguf(src: str | Path, dst: str | Path, quant: str) -> Path:
    """Write `dst`: `src` (an F32/F16 GGUF from the converter) with its matrices quantised to `quant`."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, Keys, LlamaFileType
    from gguf.constants import GGML_QUANT_SIZES
    from gguf.quants import quant_shape_to_byte_shape, quantize

    qtype = GGMLQuantizationType[PY_QUANTS[quant][0]]
    block, _ = GGML_QUANT_SIZES[qtype]
    reader = GGUFReader(str(src))
    arch = reader.get_field(Keys.General.ARCHITECTURE).contents()
    writer = GGUFWriter(str(dst), arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        value = field.contents()
        if field.name == Keys.General.FILE_TYPE:
            value = int(LlamaFileType[PY_QUANTS[quant][1]])
        kind = field.types[0]
        writer.add_key_value(field.name, value, kind,
                             sub_type=field.types[-1] if kind == GGUFValueType.ARRAY else None)
    plan = []
    for t in reader.tensors:
        as_float = t.tensor_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
        quantise = as_float and t.data.ndim >= 2 and t.data.shape[-1] % block == 0
        if quantise:
            shape = quant_shape_to_byte_shape(t.data.shape, qtype)
            writer.add_tensor_info(t.name, shape, np.dtype(np.uint8), int(np.prod(shape)), qtype)
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
        plan.append((t, quantise))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t, quantise in plan:
        data = quantize(np.asarray(t.data, dtype=np.float32), qtype) if quantise else t.data
        writer.write_tensor_data(data, tensor_endianess=reader.endianess)
    writer.close()
    return Path(dst)
