"""Fine-tuning methods, one module each, registered by name (see registry.py)."""
from studio.methods import bitfit, bottleneck, compacter, full, lora, topk  # noqa: F401  (import registers them)
from studio.methods import dora, ia3, prefix, prompt, qlora  # noqa: F401
from studio.methods.registry import Method, get, names, parse_options

__all__ = ["Method", "get", "names", "parse_options"]
