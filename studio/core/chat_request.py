"""The chat playground's requests checked without torch: sampling settings and a conversation.

Both the `studio chat-serve` child and the window's controls use these names and limits, so a value the
window offers is one the child accepts; anything else is a ConfigError naming the field.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from studio.config import ConfigError

ROLES = ("system", "user", "assistant")


@dataclass
class Sampling:
    """How the reply is decoded: greedy, or sampled with these settings; seed None draws a fresh one."""

    greedy: bool = False
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50  # 0: no top-k cut
    max_new_tokens: int = 256
    repetition_penalty: float = 1.1
    seed: int | None = None

    def generate_kwargs(self) -> dict[str, Any]:
        """The `model.generate` keyword arguments for these settings."""
        kw: dict[str, Any] = {"max_new_tokens": self.max_new_tokens,
                              "repetition_penalty": self.repetition_penalty}
        if self.greedy:
            # Explicit neutral values: the model's generation_config may carry sampling defaults.
            return {**kw, "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        return {**kw, "do_sample": True, "temperature": self.temperature, "top_p": self.top_p,
                "top_k": self.top_k or None}


# field -> (type, lowest, highest, lowest excluded)
LIMITS: dict[str, tuple[type, float, float, bool]] = {
    "temperature": (float, 0.0, 10.0, True),
    "top_p": (float, 0.0, 1.0, True),
    "top_k": (int, 0, 100_000, False),
    "max_new_tokens": (int, 1, 32_768, False),
    "repetition_penalty": (float, 0.0, 10.0, True),
    "seed": (int, 0, 2**32 - 1, False),
}


def parse_sampling(raw: Any, where: str = "sampling") -> Sampling:
    """A request's sampling object as Sampling (missing keys: defaults); ConfigError names the bad field."""
    if raw is None:
        return Sampling()
    if not isinstance(raw, dict):
        raise ConfigError(f"must be an object, got {type(raw).__name__}", where)
    unknown = sorted(set(raw) - set(asdict(Sampling())))
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(asdict(Sampling()))}",
                          f"{where}.{unknown[0]}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "greedy":
            if not isinstance(value, bool):
                raise ConfigError(f"must be true or false, got {value!r}", f"{where}.greedy")
            values[key] = value
            continue
        if key == "seed" and value is None:
            values[key] = None
            continue
        kind, low, high, open_low = LIMITS[key]
        ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok_type or (kind is int and float(value) != int(value)):
            raise ConfigError(f"must be {'an integer' if kind is int else 'a number'}, got {value!r}",
                              f"{where}.{key}")
        if (value <= low if open_low else value < low) or value > high:
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            raise ConfigError(f"must be {bound} and <= {high:g}, got {value!r}", f"{where}.{key}")
        values[key] = kind(value)
    return Sampling(**values)


def parse_messages(raw: Any, system: Any = None) -> list[dict[str, str]]:
    """The conversation as chat messages (system first when given); it must end with a user turn."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError("must be a non-empty list of {role, content} objects", "messages")
    if system is not None and not isinstance(system, str):
        raise ConfigError(f"must be a string, got {type(system).__name__}", "system")
    out = [{"role": "system", "content": system}] if system and system.strip() else []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ConfigError("must be an object with role and content", f"messages[{i}]")
        if m.get("role") not in ROLES:
            raise ConfigError(f"must be one of {', '.join(ROLES)}, got {m.get('role')!r}", f"messages[{i}].role")
        if not isinstance(m.get("content"), str):
            raise ConfigError("must be a string", f"messages[{i}].content")
        out.append({"role": m["role"], "content": m["content"]})
    if out[-1]["role"] != "user":
        raise ConfigError(f"the last message must be the user's (the model answers it), got "
                          f"{out[-1]['role']!r}", f"messages[{len(raw) - 1}].role")
    return out
