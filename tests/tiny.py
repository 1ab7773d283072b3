"""Tiny models and tokenizers built from configs, so tests never need a hub or big weights."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<|end|>"]


@lru_cache(maxsize=1)
def _byte_level_tokenizer_json() -> str:
    """A small byte-level BPE trained on a few sentences: any text tokenizes, no hub needed."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        "The quick brown fox jumps over the lazy dog.",
        "Question: what is the capital of France? Answer: Paris.",
        "positive negative neutral sports tech food weather label text",
        "user assistant system instruction input output prompt completion",
        "0 1 2 3 4 5 6 7 8 9 + - * / = ? ! , . : ;",
    ] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    return tok.to_str()


def tiny_tokenizer():
    """A PreTrainedTokenizerFast with pad/eos/bos and a chat template."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_byte_level_tokenizer_json()),
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_config(arch: str, vocab_size: int, num_labels: int = 2):
    """Config of a 2-layer model of the given family: gpt2, llama or bert."""
    from transformers import BertConfig, GPT2Config, LlamaConfig

    if arch == "gpt2":
        return GPT2Config(vocab_size=vocab_size, n_positions=128, n_embd=32, n_layer=2, n_head=2,
                          bos_token_id=2, eos_token_id=3, pad_token_id=0)
    if arch == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=128, bos_token_id=2, eos_token_id=3,
                           pad_token_id=0, tie_word_embeddings=False)
    if arch == "bert":
        return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                          num_labels=num_labels, pad_token_id=0,
                          # Weights at a trained model's scale: with BERT's 0.02 the tiny pooler's
                          # output barely depends on the input, so input-only methods (prompt
                          # tuning) could not learn anything from it.
                          initializer_range=0.2)
    raise ValueError(f"unknown tiny arch {arch!r}")


def make_tiny_model(folder: Path, arch: str = "gpt2", num_labels: int = 2, seed: int = 0) -> Path:
    """Write a tiny model (safetensors + config + tokenizer) to `folder`; return the folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    folder = Path(folder)
    tok = tiny_tokenizer()
    cfg = tiny_config(arch, len(tok), num_labels)
    torch.manual_seed(seed)
    if arch == "bert":
        model = AutoModelForSequenceClassification.from_config(cfg)
    else:
        model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
