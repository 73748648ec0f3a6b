"""Prompts: exact token lengths, SGLang's range ratio, a fixed seed, local ShareGPT files."""

from __future__ import annotations

import json

import pytest

from bench.errors import InputError, UsageError
from bench.sim import tokenizer_dir
from bench.workload.dataset import length_range, load_tokenizer, random_prompts, sharegpt_prompts


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(tokenizer_dir())


def test_random_prompts_have_exactly_the_asked_token_count(tok):
    prompts = random_prompts(
        tok, num_prompts=5, input_len=512, output_len=256, range_ratio=1.0, seed=0
    )
    assert [p.prompt_tokens for p in prompts] == [512] * 5
    assert [tok.count(p.text) for p in prompts] == [512] * 5
    assert [p.output_tokens for p in prompts] == [256] * 5
    assert len({p.text for p in prompts}) == 5  # no two share a prompt


def test_the_same_seed_gives_the_same_prompts_and_another_seed_does_not(tok):
    def make(seed):
        return random_prompts(
            tok, num_prompts=3, input_len=64, output_len=8, range_ratio=0.5, seed=seed
        )

    assert make(7) == make(7)
    assert make(7) != make(8)


def test_range_ratio_as_sglang_defines_it():
    assert length_range(512, 0.0) == (1, 512)  # SGLang's default: uniform in [1, L]
    assert length_range(512, 0.5) == (256, 512)
    assert length_range(512, 1.0) == (512, 512)
    with pytest.raises(UsageError, match="between 0 and 1"):
        length_range(512, 1.5)


def test_lengths_stay_inside_the_range_and_are_exact(tok):
    prompts = random_prompts(
        tok, num_prompts=20, input_len=100, output_len=40, range_ratio=0.5, seed=3
    )
    assert all(50 <= p.prompt_tokens <= 100 for p in prompts)
    assert all(20 <= p.output_tokens <= 40 for p in prompts)
    assert all(tok.count(p.text) == p.prompt_tokens for p in prompts)
    assert len({p.prompt_tokens for p in prompts}) > 1


def sharegpt(tmp_path, conversations):
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps(conversations))
    return path


def conv(prompt, reply):
    return {"conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": reply}]}


def test_sharegpt_takes_the_first_two_turns_and_counts_them(tmp_path, tok):
    path = sharegpt(
        tmp_path,
        [
            conv(" model batch model", " batch batch"),
            conv(" model", " batch batch batch"),  # 1 prompt token: skipped, as in SGLang
            {"conversations": [{"from": "human", "value": "alone"}]},  # one turn: skipped
            conv(" batch model", " model"),  # 1 reply token: skipped
        ],
    )
    prompts = sharegpt_prompts(tok, path, num_prompts=1, output_len=None, seed=0)
    assert [(p.prompt_tokens, p.output_tokens) for p in prompts] == [(3, 2)]
    fixed = sharegpt_prompts(tok, path, num_prompts=2, output_len=16, seed=0)
    assert sorted(p.prompt_tokens for p in fixed) == [2, 3]
    assert {p.output_tokens for p in fixed} == {16}


def test_sharegpt_with_too_few_conversations_says_so(tmp_path, tok):
    path = sharegpt(tmp_path, [conv(" model batch", " batch batch")])
    with pytest.raises(InputError, match="only 1 usable conversations, 5 were asked for"):
        sharegpt_prompts(tok, path, num_prompts=5, output_len=None, seed=0)


def test_a_missing_or_broken_dataset_is_one_clear_error(tmp_path, tok):
    with pytest.raises(InputError, match="never downloads"):
        sharegpt_prompts(tok, tmp_path / "nope.json", num_prompts=1, output_len=None, seed=0)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        sharegpt_prompts(tok, bad, num_prompts=1, output_len=None, seed=0)


def test_a_missing_tokenizer_says_which_flag_to_use(tmp_path):
    with pytest.raises(InputError, match="--tokenizer"):
        load_tokenizer(tmp_path)
