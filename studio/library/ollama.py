"""An Ollama Modelfile for an exported GGUF: FROM, the chat template translated from Jinja into Ollama's
Go-template syntax, its stop tokens and the generation defaults (Ollama's documented Modelfile syntax:
FROM, TEMPLATE, SYSTEM, PARAMETER). Families are told by their markers; an unknown template gets a
plain `{{ .Prompt }}` template and a warning, never a guess."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Family:
    """A chat-template family: the markers that identify it, its Go template and its stop tokens."""

    name: str
    markers: tuple[str, ...]
    template: str
    stops: tuple[str, ...]


FAMILIES = (
    Family("llama-3", ("<|start_header_id|>",),
           '{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}'
           '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>'
           '{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
           ("<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>")),
    Family("chatml", ("<|im_start|>",),
           '{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}'
           '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}'
           '<|im_start|>assistant\n',
           ("<|im_end|>", "<|im_start|>")),
    Family("gemma", ("<start_of_turn>",),
           '{{- if .System }}<start_of_turn>user\n{{ .System }}<end_of_turn>\n{{ end }}'
           '{{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}\n'
           '{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n',
           ("<end_of_turn>", "<start_of_turn>")),
    Family("phi-3", ("<|end|>",),
           '{{- if .System }}<|system|>\n{{ .System }}<|end|>\n{{ end }}'
           '{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n',
           ("<|end|>", "<|user|>", "<|assistant|>")),
    Family("mistral", ("[INST]",),
           '{{- range $i, $_ := .Messages }}{{- if eq .Role "user" }}[INST] '
           '{{ if and $.System (eq $i 0) }}{{ $.System }}\n\n{{ end }}{{ .Content }}[/INST]'
           '{{- else if eq .Role "assistant" }} {{ .Content }}</s>{{- end }}{{- end }}',
           ("[INST]", "[/INST]")),
)
PLAIN = "{{ .Prompt }}"
# generation_config.json key -> Ollama PARAMETER name
PARAMETERS = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "min_p": "min_p",
              "repetition_penalty": "repeat_penalty"}


@dataclass
class Modelfile:
    """The Modelfile's text and what the translation noticed."""

    text: str
    family: str | None
    stops: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def family_of(chat_template: str | None) -> Family | None:
    """The family whose markers the Jinja template contains, or None."""
    for fam in FAMILIES:
        if chat_template and all(m in chat_template for m in fam.markers):
            return fam
    return None


def default_system(chat_template: str, family: Family) -> str | None:
    """A system prompt the Jinja template inserts when the chat has none (SmolLM2 does), else None."""
    if family.name != "chatml":
        return None
    m = re.search(r"<\|im_start\|>system\\?n?\s*\n?([^<{}'\"]+?)<\|im_end\|>", chat_template)
    return m.group(1).strip() if m and m.group(1).strip() else None


def _quote(text: str) -> str:
    if '"""' in text:
        raise ValueError('the text holds """, which a Modelfile cannot quote')
    return f'"""{text}"""'


def build_modelfile(gguf_name: str, chat_template: str | None, eos_tokens: list[str],
                    generation: dict[str, Any] | None = None) -> Modelfile:
    """The Modelfile for `./gguf_name`: template, stops (the family's + the model's end tokens), defaults."""
    fam = family_of(chat_template)
    warnings = []
    if fam is None:
        why = "the model has no chat template" if not chat_template else \
            "its chat template is not one of " + ", ".join(f.name for f in FAMILIES)
        warnings.append(f"Ollama template: {why}; the Modelfile passes prompts through unchanged "
                        "({{ .Prompt }}) — write a TEMPLATE by hand for chat use")
    stops = list(fam.stops if fam else ())
    stops += [t for t in eos_tokens if t and t not in stops]
    lines = [f"FROM ./{gguf_name}", "", f"TEMPLATE {_quote(fam.template if fam else PLAIN)}"]
    system = default_system(chat_template or "", fam) if fam else None
    if system:
        lines.append(f"SYSTEM {_quote(system)}")
    lines.append("")
    lines += [f'PARAMETER stop "{s}"' for s in stops]
    for key, name in PARAMETERS.items():
        value = (generation or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"PARAMETER {name} {value:g}")
    return Modelfile("\n".join(lines) + "\n", fam.name if fam else None, stops, warnings)


def generation_defaults(folder: Path) -> dict[str, Any]:
    """generation_config.json of a model folder ({} when absent)."""
    path = Path(folder) / "generation_config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}
