"""Build a tiny llama-architecture GGUF model locally: random weights, the kit's shipped
tokenizer, nothing downloaded.

It lets a real inference engine (llama.cpp: its own server through xllamacpp, or
`llama-cpp-python`'s OpenAI-compatible server) run on a CPU in a test. Its text is
nonsense, but only whole-word tokens (`" word"`) can win the output projection (every
other row is zero, so its logit is 0 while the words' logits spread widely), so it never
emits EOS and its text re-tokenizes to exactly the tokens it generated: a client's token
count can be checked exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.sim import tokenizer_dir

N_EMBD = 64
N_LAYERS = 2
N_HEADS = 4
N_FF = 128
N_CTX = 2048


def build_tiny_gguf(
    path: Path, seed: int = 0, n_embd: int = N_EMBD, n_layers: int = N_LAYERS, n_ff: int = N_FF
) -> Path:
    """The model at `path`. Larger `n_embd`/`n_layers`/`n_ff` make each token cost more, so
    a stream's tokens arrive apart (the default model streams a short reply in one read)."""
    import gguf

    spec = json.loads((tokenizer_dir() / "tokenizer.json").read_text())
    config = json.loads((tokenizer_dir() / "tokenizer_config.json").read_text())
    vocab: dict[str, int] = spec["model"]["vocab"]
    added = {t["content"]: t["id"] for t in spec["added_tokens"]}
    n_vocab = max([*vocab.values(), *added.values()]) + 1
    tokens = [""] * n_vocab
    types = [gguf.TokenType.NORMAL] * n_vocab
    for text, i in vocab.items():
        tokens[i] = text
    for text, i in added.items():
        tokens[i] = text
        types[i] = gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("bench-kit tiny random llama (test only)")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(N_HEADS)
    writer.add_head_count_kv(N_HEADS)
    writer.add_rope_dimension_count(n_embd // N_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(added["<|endoftext|>"])
    writer.add_eos_token_id(added["<|im_end|>"])
    writer.add_chat_template(config["chat_template"])

    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    ones = np.ones(n_embd, dtype=np.float32)
    words = [i for text, i in vocab.items() if _whole_word(text)]
    output = np.zeros((n_vocab, n_embd), dtype=np.float32)
    output[words] = rng.standard_normal((len(words), n_embd)).astype(np.float32)
    writer.add_tensor("token_embd.weight", weight(n_vocab, n_embd))
    for b in range(n_layers):
        writer.add_tensor(f"blk.{b}.attn_norm.weight", ones)
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{b}.{name}.weight", weight(n_embd, n_embd))
        writer.add_tensor(f"blk.{b}.ffn_norm.weight", ones)
        writer.add_tensor(f"blk.{b}.ffn_gate.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{b}.ffn_up.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{b}.ffn_down.weight", weight(n_embd, n_ff))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", output)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _whole_word(byte_level: str) -> bool:
    """A byte-level BPE token spelling " word" (ASCII letters): `Ġ` is the space."""
    word = byte_level[1:]
    return byte_level.startswith("\u0120") and len(word) >= 2 and word.isascii() and word.isalpha()
