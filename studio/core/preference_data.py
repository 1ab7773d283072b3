"""Checked preference rows -> the string columns TRL's DPO / ORPO / KTO trainers read.

Every row is rendered with the model's chat template here (prompt with the generation prompt; each answer
is what the whole conversation adds after it, ending with eos), so the trainer, the wizard's preview and
`studio inspect-data` all see the same text. Without a template, texts are joined as they are and message
lists use the studio's plain `<|role|>` layout (as core/tokenize.py does for chat rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.core.preference_rows import KTO, Messages, as_messages, prepare_preference
from studio.core.tokenize import has_chat_template

if TYPE_CHECKING:
    import datasets

__all__ = ["RenderedPair", "preference_dataset", "render_preference", "rows_to_dataset"]


@dataclass
class RenderedPair:
    """One example's rendered prompt and answers: {"chosen", "rejected"} or {"completion"} (KTO)."""

    prompt: str
    answers: dict[str, str]
    label: bool | None = None  # KTO: desirable or not


def preference_dataset(cfg: Any, tokenizer: Any) -> tuple["datasets.Dataset", "datasets.Dataset | None"]:
    """(train, eval) with string columns prompt/chosen/rejected, or prompt/completion/label for KTO."""
    loss = getattr(getattr(cfg, "preference", None), "loss", None)
    data = prepare_preference(cfg.data, cfg.training.seed, loss)
    train = rows_to_dataset(data.train, data.format, tokenizer, data.source_lines["train"])
    val = rows_to_dataset(data.validation, data.format, tokenizer, data.source_lines["validation"]) \
        if data.validation else None
    return train, val


def rows_to_dataset(rows: list[dict[str, Any]], fmt: str, tokenizer: Any,
                    source_lines: list[str] | None = None) -> "datasets.Dataset":
    """Render checked rows of `fmt` (preference or kto) into a datasets.Dataset of strings."""
    import datasets

    columns: dict[str, list] = {"prompt": []}
    for i, row in enumerate(rows):
        try:
            item = render_preference(row, fmt, tokenizer)
        except Exception as e:  # jinja errors from the model's own template, e.g. "roles must alternate"
            where = source_lines[i] if source_lines else f"row {i + 1}"
            raise ValueError(f"{where}: the tokenizer's chat template rejected this row: {e}") from e
        columns["prompt"].append(item.prompt)
        for key, text in item.answers.items():
            columns.setdefault(key, []).append(text)
        if fmt == KTO:
            columns.setdefault("label", []).append(bool(item.label))
    return datasets.Dataset.from_dict(columns)


def render_preference(row: dict[str, Any], fmt: str, tokenizer: Any) -> RenderedPair:
    """A checked row's prompt (ending where generation starts) and its answers (each ending with eos)."""
    sides = ("completion",) if fmt == KTO else ("chosen", "rejected")
    chat = isinstance(row["prompt"], list) or has_chat_template(tokenizer)
    if not chat:  # plain texts for a model without a chat template: joined as they are
        answers = {s: _with_eos(row[s], tokenizer) for s in sides}
        return RenderedPair(row["prompt"], answers, row.get("label"))
    prompt = as_messages(row["prompt"], "user")
    if has_chat_template(tokenizer):
        head = _template(tokenizer, prompt, generation_prompt=True)
        answers = {s: _templated_answer(tokenizer, prompt, as_messages(row[s], "assistant"), head)
                   for s in sides}
        return RenderedPair(_without_leading_bos(head, tokenizer), answers, row.get("label"))
    head = "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in prompt) + "<|assistant|>\n"
    answers = {s: _with_eos(_plain_turns(as_messages(row[s], "assistant")), tokenizer) for s in sides}
    return RenderedPair(head, answers, row.get("label"))


def _template(tokenizer: Any, messages: Messages, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _templated_answer(tokenizer: Any, prompt: Messages, answer: Messages, head: str) -> str:
    """What rendering prompt + answer adds after the generation prompt, minus trailing formatting."""
    full = _template(tokenizer, prompt + answer)
    if full.startswith(head):
        # The whitespace after the end-of-turn token is layout, not answer (as in core/tokenize.py).
        return _with_eos(full[len(head):].rstrip(), tokenizer)
    # Templates that render the prompt differently alone (e.g. drop reasoning): the answer's own words.
    return _with_eos("".join(m["content"] for m in answer if m["role"] == "assistant"), tokenizer)


def _plain_turns(messages: Messages) -> str:
    """Answer turns in the plain layout; the first assistant's header is already in the prompt."""
    text = ""
    for i, m in enumerate(messages):
        head = "" if i == 0 and m["role"] == "assistant" else f"<|{m['role']}|>\n"
        text += head + m["content"] + "\n"
    return text


def _with_eos(text: str, tokenizer: Any) -> str:
    eos = tokenizer.eos_token
    return text if not eos or text.endswith(eos) else text + eos


def _without_leading_bos(prompt: str, tokenizer: Any) -> str:
    """TRL tokenizes the prompt text with the tokenizer's specials: drop a bos it would add a second time."""
    bos = tokenizer.bos_token
    if not bos or not prompt.startswith(bos):
        return prompt
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return prompt[len(bos):] if ids and ids[0] == tokenizer.bos_token_id else prompt
