"""A tiny Llama that llama.cpp's converter accepts: tests/tiny.py's byte-level BPE is refused (the
converter recognises BPE vocabularies by hashing a known model's tokenisation), so this one has a
small SentencePiece tokenizer (tokenizer.model), the path Llama-2/TinyLlama GGUFs take, and a ChatML
template with <|im_end|> as EOS, as the SmolLM2 sample has."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CORPUS = ["The quick brown fox jumps over the lazy dog.", "Question: what is the capital of France? Answer: Paris.",
          "user assistant system instruction input output prompt completion", "Arr matey, the sea be wide.",
          "0 1 2 3 4 5 6 7 8 9 + - * / = ? ! , . : ;", "Write one sentence about the sea. Name three colours."] * 20


def make_gguf_llama(folder: Path, seed: int = 0) -> Path:
    """Write a 2-layer Llama (hidden 64) with a 400-piece SentencePiece tokenizer to `folder`."""
    import json

    import sentencepiece as spm
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    folder = Path(folder)
    spdir = folder.with_name(folder.name + "-sp")
    spdir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=buf, vocab_size=400,
                                   model_type="bpe", byte_fallback=True, minloglevel=2,
                                   user_defined_symbols=["<|im_start|>", "<|im_end|>"],
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, hard_vocab_limit=False)
    (spdir / "tokenizer.model").write_bytes(buf.getvalue())
    (spdir / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "<|im_end|>",
         "unk_token": "<unk>", "pad_token": "<pad>"}))
    tok = AutoTokenizer.from_pretrained(spdir)
    tok.chat_template = CHATML
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg)
    with torch.no_grad():  # a trained model's confident logits, so quantisation rarely flips an argmax
        model.lm_head.weight.mul_(8)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    shutil.copy2(spdir / "tokenizer.model", folder / "tokenizer.model")
    shutil.rmtree(spdir)
    return folder
