"""The shipped tokenizer: loadable by every client the kit meets, and round-trip exact."""

from __future__ import annotations

import random

from tokenizers import Tokenizer

from bench.sim import build_tokenizer, tokenizer_dir
from bench.sim.tokens import chatml, load_token_source


def test_shipped_files_are_small_and_exactly_what_the_builder_writes(tmp_path):
    build_tokenizer.write(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shipped = (tokenizer_dir() / name).read_bytes()
        assert shipped == (tmp_path / name).read_bytes(), f"{name} is stale: re-run the builder"
        assert len(shipped) < 1_000_000


def test_loads_with_the_tokenizers_library():
    tok = Tokenizer.from_file(str(tokenizer_dir() / "tokenizer.json"))
    assert tok.get_vocab_size() > 1000
    assert tok.token_to_id("<|im_end|>") is not None


def test_loads_with_transformers_and_carries_a_qwen2_chat_template():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir()))
    assert tok.eos_token == "<|im_end|>"
    assert "chat_template" in tok.init_kwargs  # what sglang.bench_serving checks
    assert "<|im_start|>assistant\\n" in tok.init_kwargs["chat_template"].replace("\n", "\\n")
    assert (
        tok.encode(" model tokens")
        == Tokenizer.from_file(str(tokenizer_dir() / "tokenizer.json")).encode(" model tokens").ids
    )


def test_generated_ids_round_trip_through_text():
    source = load_token_source(tokenizer_dir())
    rng = random.Random(7)
    ids = [rng.choice(source.gen_ids) for _ in range(2000)]
    text = source.text_of(ids)
    assert source.tokenizer.encode(text).ids == ids
    assert source.count(text) == 2000


def test_any_text_encodes_without_unknown_tokens():
    source = load_token_source(tokenizer_dir())
    assert source.count("昇腾 Atlas 800T，Qwen2！") > 0
    assert source.tokenizer.decode(source.tokenizer.encode("昇腾 800T").ids) == "昇腾 800T"


def test_chatml_matches_qwen2_layout_and_counts_special_tokens_as_one():
    text = chatml([{"role": "user", "content": "hi"}])
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    source = load_token_source(tokenizer_dir())
    assert source.count("<|im_start|>") == 1
