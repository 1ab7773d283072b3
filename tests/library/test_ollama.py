"""The Modelfile: each common chat-template family translated to Ollama's Go template with its stop
tokens; an unknown template gets a plain one and a warning; generation defaults become PARAMETERs."""
from __future__ import annotations

import pytest

from studio.library.ollama import build_modelfile, family_of
from tests.library.gguf_tiny import CHATML
from tests.tiny import CHAT_TEMPLATE as PHI_LIKE

LLAMA3 = ("{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
          " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}")
MISTRAL = "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]{% endif %}{% endfor %}"
GEMMA = "{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}<end_of_turn>\n{% endfor %}"
SMOLLM2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>"
           "system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
           "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}")


@pytest.mark.parametrize("template,family,stop,marker", [
    (CHATML, "chatml", "<|im_end|>", "<|im_start|>{{ .Role }}"),
    (LLAMA3, "llama-3", "<|eot_id|>", "<|start_header_id|>{{ .Role }}<|end_header_id|>"),
    (MISTRAL, "mistral", "[INST]", "[/INST]"),
    (GEMMA, "gemma", "<end_of_turn>", "<start_of_turn>model"),
    (PHI_LIKE, "phi-3", "<|end|>", "<|{{ .Role }}|>"),
])
def test_families_translate_with_their_stops(template, family, stop, marker):
    mf = build_modelfile("m.gguf", template, ["</s>"], {})
    assert mf.family == family and not mf.warnings
    assert f'PARAMETER stop "{stop}"' in mf.text and 'PARAMETER stop "</s>"' in mf.text
    assert marker in mf.text
    assert mf.text.count('"""') == 2  # one TEMPLATE block, quoted once
    assert "{%" not in mf.text  # no Jinja left


def test_default_system_prompt_and_generation_defaults():
    mf = build_modelfile("s.gguf", SMOLLM2, ["<|im_end|>"],
                         {"temperature": 0.2, "top_p": 0.9, "repetition_penalty": 1.1, "do_sample": True})
    assert 'SYSTEM """You are a helpful AI assistant named SmolLM, trained by Hugging Face"""' in mf.text
    assert "PARAMETER temperature 0.2" in mf.text and "PARAMETER top_p 0.9" in mf.text
    assert "PARAMETER repeat_penalty 1.1" in mf.text
    assert mf.text.count('PARAMETER stop "<|im_end|>"') == 1  # the family's and the model's, once


@pytest.mark.parametrize("template", [None, "{{ messages[0]['content'] }}"])
def test_unknown_template_gets_a_plain_template_and_a_warning(template):
    mf = build_modelfile("m.gguf", template, ["</s>"], {})
    assert mf.family is None and family_of(template) is None
    assert 'TEMPLATE """{{ .Prompt }}"""' in mf.text
    assert len(mf.warnings) == 1 and "Ollama template" in mf.warnings[0]
    assert 'PARAMETER stop "</s>"' in mf.text
