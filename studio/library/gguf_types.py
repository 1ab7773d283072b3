"""The GGUF types the studio can write, who writes each, and their sizes. No torch: the window's
Export dialog offers these with a size estimate."""
from __future__ import annotations

from studio.library.gguf_quantize import PY_QUANTS

# llama.cpp's converter writes these itself (q8_0 included); gguf.quants (Python) writes the rest from
# the converter's f32 output.
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")
QUANTS = CONVERTER_TYPES + tuple(q for q in PY_QUANTS if q not in CONVERTER_TYPES)
# bits per weight, block scales included (what llama.cpp's docs list for each type)
BITS = {"f32": 32, "f16": 16, "bf16": 16, "q8_0": 8.5, "q5_1": 6, "q5_0": 5.5, "q4_1": 5, "q4_0": 4.5}
DESCRIPTIONS = {"f32": "full precision, 4 bytes a weight", "f16": "half precision, near-exact",
                "bf16": "bfloat16, near-exact (llama.cpp's CPU runs it slower than f16)",
                "q8_0": "8-bit blocks: near the 16-bit quality at about half the size",
                "q5_1": "5-bit blocks with offsets", "q5_0": "5-bit blocks",
                "q4_1": "4-bit blocks with offsets", "q4_0": "4-bit blocks: smallest, the most loss"}
NEEDS_LLAMA_CPP = ("q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
                   "iq2_xxs", "iq2_xs", "iq3_xxs", "iq4_nl", "iq4_xs")


class UnsupportedQuant(ValueError):
    """The quantisation is not one the installed libraries can produce (the message says what would)."""


def check_quant(quant: str) -> str:
    """The quant, lower-cased, or UnsupportedQuant naming what is available and what the rest need."""
    q = quant.lower()
    if q in QUANTS:
        return q
    if q in NEEDS_LLAMA_CPP or q.startswith(("iq", "q2_", "q3_", "q4_k", "q5_k", "q6_")):
        raise UnsupportedQuant(f"--quant {quant}: K- and I-quants need llama.cpp's `llama-quantize` binary, which "
                               f"no PyPI package ships; export f16 here and run `llama-quantize OUT.gguf "
                               f"OUT-{q}.gguf {q.upper()}` where llama.cpp is built. Available: {', '.join(QUANTS)}")
    raise UnsupportedQuant(f"--quant {quant}: unknown; choose one of {', '.join(QUANTS)}")


def estimate_size(params: int, quant: str) -> int:
    """Approximate GGUF size in bytes for a model with `params` weights (1-D tensors ignored)."""
    return int(params * BITS[check_quant(quant)] / 8)
