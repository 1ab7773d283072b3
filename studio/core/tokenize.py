"""Rows -> token ids. A causal-lm example is rendered to ONE string plus its answer's character spans and
tokenized once; tokens overlapping a span are trained, so ids equal the whole string's (no seams)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.core.formats import alpaca_prompt, label_order, user_content

if TYPE_CHECKING:
    import datasets

IGNORE_INDEX = -100
_HUGE = 10**9  # transformers' "no limit" model_max_length is a huge sentinel


@dataclass
class Rendered:
    """One example as a single string, the character spans that are trained, and how to tokenize it."""

    text: str
    spans: list[tuple[int, int]]
    add_special_tokens: bool  # False when a chat template already wrote bos & co. into the text


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def eos_text(tokenizer: Any) -> str:
    """The eos string to append, or "" when there is none or the tokenizer appends it itself."""
    eos = tokenizer.eos_token
    if not eos:
        return ""
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return "" if ids and ids[-1] == tokenizer.eos_token_id else eos


def render_example(row: dict[str, Any], fmt: str, tokenizer: Any, eos: str | None = None) -> Rendered:
    """The whole training string of a causal-lm row and its answer spans."""
    eos = eos_text(tokenizer) if eos is None else eos
    if fmt == "text":
        text = row["text"] + eos
        return Rendered(text, [(0, len(text))], True)
    if fmt == "completion":
        text = row["prompt"] + row["completion"] + eos
        return Rendered(text, [(len(row["prompt"]), len(text))], True)
    if fmt == "instruction":
        if has_chat_template(tokenizer):
            return _render_chat([{"role": "user", "content": user_content(row)},
                                 {"role": "assistant", "content": row["output"]}], tokenizer)
        prompt = alpaca_prompt(row)
        text = prompt + row["output"] + eos
        return Rendered(text, [(len(prompt), len(text))], True)
    if fmt == "chat":
        if has_chat_template(tokenizer):
            return _render_chat(row["messages"], tokenizer)
        return _render_plain_chat(row["messages"], eos)
    raise ValueError(f"format {fmt!r} is not a causal-lm format")


def _template(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _render_chat(messages: list[dict[str, str]], tokenizer: Any) -> Rendered:
    full = _template(tokenizer, messages)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        # The turn is what rendering messages[:i+1] adds to the generation prompt of messages[:i] ...
        before = _template(tokenizer, messages[:i], True) if i else None
        upto = _template(tokenizer, messages[:i + 1])
        if before is not None and upto.startswith(before) and full.startswith(upto):
            # ... minus the whitespace after the end-of-turn token, which is formatting, not answer.
            spans.append((len(before), max(len(before), len(upto.rstrip()))))
        else:  # templates that rewrite history (e.g. drop reasoning): find the content itself
            spans.append(_find_turn(full, m["content"], spans[-1][1] if spans else 0, tokenizer))
    return Rendered(full, [s for s in spans if s[1] > s[0]], False)


def _find_turn(full: str, content: str, start: int, tokenizer: Any) -> tuple[int, int]:
    at = full.find(content, start)
    if at < 0:
        return (0, 0)
    end = at + len(content)
    specials = [t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if t.special]
    follow = next((s for s in specials + [tokenizer.eos_token or ""] if s and full.startswith(s, end)), "")
    return (at, end + len(follow))


def _render_plain_chat(messages: list[dict[str, str]], eos: str) -> Rendered:
    text, spans = "", []
    for m in messages:
        head = f"<|{m['role']}|>\n"
        body = m["content"] + "\n"
        if m["role"] == "assistant":
            spans.append((len(text) + len(head), len(text) + len(head) + len(body)))
        text += head + body
    if eos and messages[-1]["role"] == "assistant":
        spans[-1] = (spans[-1][0], len(text) + len(eos))
    return Rendered(text + eos, spans, True)


def render_prompt(row: dict[str, Any], fmt: str, tokenizer: Any) -> str:
    """The prompt part of a row (where generation starts); chat-template text: tokenize without specials."""
    if fmt == "classification":
        return row["text"] + ("\n" + row["text_pair"] if row.get("text_pair") else "")
    if fmt == "text":
        words = row["text"].split(" ")
        return " ".join(words[:max(1, min(8, len(words) // 2))])
    if fmt == "completion":
        return row["prompt"]
    if fmt == "instruction":
        if has_chat_template(tokenizer):
            return _template(tokenizer, [{"role": "user", "content": user_content(row)}], True)
        return alpaca_prompt(row)
    if fmt == "chat":
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        if has_chat_template(tokenizer) and last:
            return _template(tokenizer, messages[:last], True)
        return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages[:last]) + "<|assistant|>\n"
    raise ValueError(f"unknown format {fmt!r}")


def _encode_with_offsets(items: list[Rendered], tokenizer: Any, train_all: bool) -> list[tuple[list, list]]:
    out = []
    for flag in (True, False):  # one batched call per add_special_tokens setting
        idx = [i for i, r in enumerate(items) if r.add_special_tokens is flag]
        if not idx:
            continue
        enc = tokenizer([items[i].text for i in idx], add_special_tokens=flag, return_offsets_mapping=True)
        for i, ids, offsets in zip(idx, enc["input_ids"], enc["offset_mapping"]):
            spans = items[i].spans
            labels = [t if train_all or (e > s and any(s < b and e > a for a, b in spans)) else IGNORE_INDEX
                      for t, (s, e) in zip(ids, offsets)]
            out.append((i, ids, labels))
    return [(ids, labels) for _, ids, labels in sorted(out, key=lambda x: x[0])]


def _encode_pieces(item: Rendered, tokenizer: Any, train_all: bool) -> tuple[list, list]:
    """Slow tokenizers have no offsets: tokenize prompt and answer pieces separately and join them."""
    cuts = sorted({0, len(item.text), *(p for span in item.spans for p in span)})
    ids, labels = [], []
    for a, b in zip(cuts, cuts[1:]):
        piece = tokenizer(item.text[a:b], add_special_tokens=False)["input_ids"]
        trained = train_all or any(s <= a and b <= e for s, e in item.spans)
        ids += piece
        labels += piece if trained else [IGNORE_INDEX] * len(piece)
    if item.add_special_tokens:
        # Where the tokenizer puts its specials (bos, eos...) around a plain sequence.
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        wrapped = tokenizer("a", add_special_tokens=True)["input_ids"]
        k = next(i for i in range(len(wrapped)) if wrapped[i:i + len(plain)] == plain)
        pre, post = wrapped[:k], wrapped[k + len(plain):]
        fill = (lambda x: x) if train_all else (lambda x: [IGNORE_INDEX] * len(x))
        ids, labels = pre + ids + post, fill(pre) + labels + fill(post)
    return ids, labels


def _where(i: int, source_lines: Sequence[str] | None) -> str:
    return source_lines[i] if source_lines else f"row {i + 1}"


def _listed(indices: list[int], source_lines: Sequence[str] | None) -> str:
    named = ", ".join(_where(i, source_lines) for i in indices[:5])
    return named + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def tokenize_rows(rows: Sequence[dict[str, Any]], fmt: str, tokenizer: Any, *, max_length: int,
                  train_on_prompt: bool = False, label2id: dict[str, int] | None = None,
                  source_lines: Sequence[str] | None = None) -> tuple["datasets.Dataset", list[str]]:
    """Tokenize normalised rows of `fmt`; returns the dataset and warnings (truncation, dropped rows)."""
    import datasets

    if not rows:
        raise ValueError("no rows to tokenize")
    warnings: list[str] = []
    limit = getattr(tokenizer, "model_max_length", _HUGE) or _HUGE
    if max_length > limit:
        warnings.append(f"max_length {max_length} is more than the model's {limit} tokens; using {limit}")
        max_length = limit
    if fmt == "classification":
        columns, long = _tokenize_classification(rows, tokenizer, max_length, label2id, source_lines)
        dropped: list[int] = []
    else:
        columns, long, dropped = _tokenize_causal(rows, fmt, tokenizer, max_length, train_on_prompt,
                                                  source_lines)
    if long:
        warnings.append(f"{len(long)} of {len(rows)} rows are longer than max_length={max_length} tokens "
                        f"and were truncated (longest: {max(n for _, n in long)} tokens): "
                        f"{_listed([i for i, _ in long], source_lines)}")
    if dropped:
        warnings.append(f"{len(dropped)} rows were dropped because truncation cut off their whole answer; "
                        f"raise max_length or shorten the prompts: {_listed(dropped, source_lines)}")
        if len(dropped) == len(rows):
            raise ValueError(f"no row keeps any answer token within max_length={max_length}")
    return datasets.Dataset.from_dict(columns), warnings


def _tokenize_causal(rows: Sequence[dict[str, Any]], fmt: str, tokenizer: Any, max_length: int,
                     train_all: bool, source_lines: Sequence[str] | None,
                     ) -> tuple[dict[str, list], list[tuple[int, int]], list[int]]:
    eos = eos_text(tokenizer)
    items = []
    for i, row in enumerate(rows):
        try:
            items.append(render_example(row, fmt, tokenizer, eos))
        except Exception as e:  # jinja errors from the model's own template, e.g. "roles must alternate"
            raise ValueError(f"{_where(i, source_lines)}: the tokenizer's chat template rejected this row: "
                             f"{e}") from e
    if getattr(tokenizer, "is_fast", False):
        encoded = _encode_with_offsets(items, tokenizer, train_all)
    else:
        encoded = [_encode_pieces(item, tokenizer, train_all) for item in items]
    columns: dict[str, list] = {"input_ids": [], "attention_mask": [], "labels": []}
    long, dropped = [], []
    for i, (ids, labels) in enumerate(encoded):
        if len(ids) > max_length:
            long.append((i, len(ids)))
            ids, labels = ids[:max_length], labels[:max_length]
            if all(t == IGNORE_INDEX for t in labels):
                dropped.append(i)
                continue
        columns["input_ids"].append(ids)
        columns["attention_mask"].append([1] * len(ids))
        columns["labels"].append(labels)
    return columns, long, dropped


def _tokenize_classification(rows: Sequence[dict[str, Any]], tokenizer: Any, max_length: int,
                             label2id: dict[str, int] | None,
                             source_lines: Sequence[str] | None) -> tuple[dict[str, list], list[tuple[int, int]]]:
    if label2id is None:
        label2id = {name: i for i, name in enumerate(label_order(str(r["label"]) for r in rows))}
    texts = [r["text"] for r in rows]
    pairs = [r["text_pair"] for r in rows] if "text_pair" in rows[0] else None
    # One token over the limit spots the rows to truncate without the tokenizer's "too long" warning.
    enc = dict(tokenizer(texts, pairs, truncation=True, max_length=max_length + 1))
    long = [(i, len(ids)) for i, ids in enumerate(enc["input_ids"]) if len(ids) > max_length]
    if long:
        subset = ([texts[i] for i, _ in long], [pairs[i] for i, _ in long] if pairs else None)
        again = tokenizer(*subset, truncation=True, max_length=max_length)
        for j, (i, _) in enumerate(long):
            for key in enc:
                enc[key][i] = again[key][j]
        # The first pass stopped one token over the limit; the warning reports the true lengths.
        long = [(i, len(ids)) for (i, _), ids in zip(long, tokenizer(*subset)["input_ids"])]
    labels = []
    for i, r in enumerate(rows):
        if str(r["label"]) not in label2id:
            raise ValueError(f"{_where(i, source_lines)}: label {r['label']!r} is not one of "
                             f"{', '.join(label2id)}")
        labels.append(label2id[str(r["label"])])
    return {**{k: list(v) for k, v in enc.items()}, "labels": labels}, long


class CausalCollator:
    """Right-pads input_ids (pad id), attention_mask (0) and labels (-100) to the batch's longest."""

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None):
        self.pad_id, self.pad_to_multiple_of = pad_id, pad_to_multiple_of

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        def as_list(v: Any) -> list[int]:
            return v.tolist() if hasattr(v, "tolist") else list(v)

        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = {}
        for key, fill in (("input_ids", self.pad_id), ("attention_mask", 0), ("labels", IGNORE_INDEX)):
            rows = [as_list(f[key]) for f in features]
            batch[key] = torch.tensor([r + [fill] * (longest - len(r)) for r in rows], dtype=torch.long)
        return batch


def make_collator(tokenizer: Any, task: str, pad_to_multiple_of: int | None = None) -> Any:
    """Batch padding for `task`: CausalCollator for causal-lm, DataCollatorWithPadding for classification."""
    if task == "classification":
        from transformers import DataCollatorWithPadding

        if tokenizer.pad_token is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (and the model's "
                             "config.pad_token_id), e.g. to the eos token, before batching")
        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)
    # Our own collator rather than DataCollatorForSeq2Seq: it needs no pad token on the tokenizer (eos
    # stands in, without mutating the tokenizer) and pads right whatever the tokenizer's padding_side.
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad_id is None:
        raise ValueError("the tokenizer has neither a pad nor an eos token to pad batches with")
    return CausalCollator(pad_id, pad_to_multiple_of)
