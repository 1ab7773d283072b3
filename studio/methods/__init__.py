"""Fine-tuning methods, one module each, registered by name (see registry.py)."""
from studio.methods import full, lora  # noqa: F401  (import registers them)
from studio.methods.registry import Method, get, names, parse_options

__all__ = ["Method", "get", "names", "parse_options"]
