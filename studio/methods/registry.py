"""The method registry: every fine-tuning method registers itself here by name.

Method modules keep torch/peft imports inside their functions, so the registry (names, option
dataclasses, descriptions) can be read by the CLI before any heavy import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from studio.config import ConfigError, build_dataclass


@dataclass(frozen=True)
class Method:
    """What every method exposes: options, how to apply it, whether it merges, what it is."""

    name: str
    learning_rate: float  # a good starting peak learning rate (the wizard's default), from the paper
    options: type
    apply: Callable[[Any, Any, str], Any]
    mergeable: bool
    description: str
    peft_native: bool = False
    # Extra `from_pretrained` kwargs the base needs before apply (QLoRA: quantization_config).
    load_kwargs: Callable[[Any], dict[str, Any]] | None = None
    # Model with only this method's parameters trainable → plain transformers model (mergeable only).
    merge: Callable[[Any], Any] | None = None

    def describe(self) -> str:
        """What the method trains, its parameter formula and when to choose it."""
        return self.description


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method under its name (once)."""
    if method.name in _METHODS:
        raise ValueError(f"method {method.name!r} registered twice")
    _METHODS[method.name] = method
    return method


def get(name: str) -> Method:
    """The method called `name`, or a ConfigError listing the known ones."""
    try:
        return _METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; known: {', '.join(sorted(_METHODS))}",
                          "method.name") from None


def names() -> list[str]:
    """Registered method names, sorted."""
    return sorted(_METHODS)


def parse_options(name: str, options: dict[str, Any]) -> Any:
    """Validate a config's method options into the method's dataclass (errors name method.KEY)."""
    return build_dataclass(get(name).options, options, "method")


def option_specs(name: str) -> list[dict[str, Any]]:
    """Each option of a method: name, default, type, doc and limits (for --help and the wizard)."""
    import dataclasses
    import typing

    cls = get(name).options
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        specs.append({"name": f.name, "default": default, "type": str(hints[f.name]).replace("typing.", ""),
                      **{k: f.metadata.get(k) for k in ("doc", "choices", "min", "max")}})
    return specs
