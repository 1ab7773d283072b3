"""Side by side: one base model loaded once, adapters hot-swapped onto it, one column per adapter.

The swapping lives in studio/core/hotswap.py. Here: reading adapter folders (torch-free, so the CLI checks
them before loading anything), the grid (one row per prompt, fixed seed, greedy by default) and the
metrics per column on a labelled or held-out file.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.hotswap import BASE, AdapterInfo, AdapterSwapper

__all__ = ["BASE", "AdapterInfo", "Comparer", "GenSettings", "base_mismatch", "config_sha256", "macro_f1",
           "read_adapter"]
PROMPT_FORMATS = ("instruction", "raw")


def config_sha256(folder: str | Path) -> str | None:
    """Fingerprint of a model folder's config.json (what studio.json records as base_config_sha256)."""
    path = Path(folder) / "config.json"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def read_adapter(name: str, folder: str | Path) -> AdapterInfo:
    """An adapter folder's studio.json (or PEFT's adapter_config.json alone), without torch."""
    folder = Path(folder)
    config_file, meta_file = folder / "adapter_config.json", folder / "studio.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    if meta.get("method") == "full":
        raise ValueError(f"{name}: a full fine-tune saves a whole model, not an adapter; compare it "
                         f"as the base instead (--base {folder})")
    if not config_file.is_file():
        raise ValueError(f"{name}: {folder} has no adapter_config.json; not an adapter folder")
    config = json.loads(config_file.read_text())
    peft_type = None if config.get("studio_method") else config.get("peft_type")
    method = meta.get("method") or config.get("studio_method") or str(peft_type or "?").lower()
    task = meta.get("task") or ("classification" if config.get("task_type") == "SEQ_CLS" else "causal-lm")
    labels = list(meta["id2label"].values()) if meta.get("id2label") else None
    return AdapterInfo(name, str(folder), method, task, meta.get("base_model"),
                       meta.get("base_model_path") or config.get("base_model_name_or_path"),
                       meta.get("base_config_sha256"), labels, peft_type, config.get("options") or {})


def base_mismatch(base_ref: str, base_folder: str, info: AdapterInfo) -> str | None:
    """Why `info` was not trained on this base (None when it was, or nothing says otherwise)."""
    trained_on = info.base_model or info.base_model_path
    ours = config_sha256(base_folder)
    if info.base_sha256 and ours:
        if info.base_sha256 == ours:
            return None
    elif not trained_on or base_ref in (info.base_model, info.base_model_path) or (
            info.base_model_path and Path(info.base_model_path).exists() and Path(base_folder).exists()
            and Path(info.base_model_path).resolve() == Path(base_folder).resolve()):
        return None
    return (f"adapter {info.name!r} was trained on {trained_on!r}, not on --base {base_ref!r} "
            f"(their config.json differ); compare adapters of one base at a time")


@dataclass
class GenSettings:
    """Generation settings shared by every cell: greedy by default, one fixed seed."""

    max_new_tokens: int = 40
    seed: int = 0
    sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    prompt_format: str = "instruction"  # chat template or Alpaca prompt, as training renders; raw = as typed



def macro_f1(gold: list[str], pred: list[str]) -> float:
    """Mean F1 over the labels seen in gold or predictions (scikit-learn's 'macro')."""
    scores = []
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        wrong = sum((g == label) != (p == label) for g, p in zip(gold, pred))
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return sum(scores) / len(scores) if scores else 0.0



class Comparer(AdapterSwapper):
    """The swapper plus what a comparison does with each column: generate a grid, evaluate a file."""

    def add(self, name: str, folder: str | Path) -> AdapterInfo:
        """Register the adapter in `folder` as column `name` (read on first use)."""
        return self.add_info(read_adapter(name, folder))

    def generate_grid(self, prompts: list[str], settings: GenSettings | None = None,
                      columns: list[str] | None = None) -> list[dict[str, Any]]:
        """One row per prompt: {"prompt", "outputs": {column: text}}; one swap per column."""
        settings = settings or GenSettings()
        columns = columns or self.columns
        rendered = [self.render(p, settings.prompt_format) for p in prompts]
        outputs: dict[str, list[str]] = {}
        for column in self.swap_order(columns):
            self.activate(column)
            outputs[column] = [self._cell(text, settings) for text in rendered]
        return [{"prompt": p, "outputs": {c: outputs[c][i] for c in columns}} for i, p in enumerate(prompts)]

    def render(self, prompt: str, prompt_format: str = "instruction") -> str:
        """A typed prompt as the model sees it: as training renders an instruction, or raw."""
        if prompt_format == "raw" or self.task == "classification":
            return prompt
        from studio.core.tokenize import render_prompt

        return render_prompt({"instruction": prompt, "input": ""}, "instruction", self.tokenizer)

    def _encode(self, text: str) -> dict[str, Any]:
        from studio.core.tokenize import has_chat_template

        # A chat template already wrote bos & co. into the text (tokenize.Rendered's rule).
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=not has_chat_template(self.tokenizer))
        return {k: enc[k].to(self._input_device()) for k in ("input_ids", "attention_mask")}

    def _cell(self, text: str, s: GenSettings) -> str:
        import torch
        import transformers

        transformers.set_seed(s.seed)  # every cell from the same seed: order does not matter
        enc = self._encode(text)
        with torch.no_grad():
            if self.task == "classification":
                probs = self.model()(**enc).logits.float().softmax(-1)[0]
                i = int(probs.argmax())
                return f"{self.labels[i] if self.labels else i} ({float(probs[i]):.2f})"
            kw = {"do_sample": True, "temperature": s.temperature, "top_p": s.top_p} if s.sample else \
                {"do_sample": False}
            out = self.model().generate(**enc, max_new_tokens=s.max_new_tokens,
                                        pad_token_id=self.tokenizer.pad_token_id, **kw)
        return self.tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def evaluate(self, file: str | Path, columns: list[str] | None = None, max_length: int = 256,
                 batch_size: int = 8) -> dict[str, Any]:
        """Classification: predictions, accuracy, macro-F1; causal-lm: eval loss, perplexity (answer tokens)."""
        import torch

        from studio.config import DataSpec
        from studio.core.data import prepare_data
        from studio.core.tokenize import IGNORE_INDEX, make_collator, tokenize_rows

        # The file as its own validation split: every row checked and kept, none held out.
        data = prepare_data(DataSpec(train=str(file), validation=str(file), max_length=max_length), self.task, 0)
        rows = data.validation or []
        cls = self.task == "classification"
        names = self.labels or data.label_names or []
        label2id = {n: i for i, n in enumerate(names)} if cls else None
        ds, warnings = tokenize_rows(rows, data.format, self.tokenizer, max_length=max_length, label2id=label2id)
        collate = make_collator(self.tokenizer, self.task)
        features = [ds[i] for i in range(len(ds))]
        batches = [collate(features[i:i + batch_size]) for i in range(0, len(features), batch_size)]
        result: dict[str, Any] = {"file": str(file), "rows": len(features), "warnings": warnings, "metrics": {}}
        if cls:
            result["gold"] = [names[f["labels"]] for f in features]
            result["predictions"] = {}
        for column in self.swap_order(columns or self.columns):
            self.activate(column)
            preds: list[int] = []
            loss_sum, tokens = 0.0, 0
            for batch in batches:
                batch = {k: v.to(self._input_device()) for k, v in batch.items()}
                labels = batch.pop("labels")
                with torch.no_grad():
                    logits = self.model()(**batch).logits.float()
                if cls:
                    preds += logits.argmax(-1).tolist()
                    continue
                logits = logits[:, -labels.shape[1]:]  # prompt tuning prepends virtual positions
                target = labels[:, 1:]
                loss_sum += float(torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1),
                    ignore_index=IGNORE_INDEX, reduction="sum"))
                tokens += int((target != IGNORE_INDEX).sum())
            if cls:
                predicted = [names[p] if p < len(names) else str(p) for p in preds]
                result["predictions"][column] = predicted
                result["metrics"][column] = {
                    "accuracy": sum(g == p for g, p in zip(result["gold"], predicted)) / max(1, len(predicted)),
                    "macro_f1": macro_f1(result["gold"], predicted)}
            else:
                loss = loss_sum / max(1, tokens)
                result["metrics"][column] = {"eval_loss": loss, "perplexity": math.exp(min(loss, 700.0)),
                                             "tokens": tokens}
        return result

