"""Request bodies into a GenSpec: SGLang's defaults, token counts, and refusals."""

from __future__ import annotations

import pytest

from bench.sim import tokenizer_dir
from bench.sim.api import FAMILIES, ApiError, Fields, parse
from bench.sim.tokens import load_token_source


@pytest.fixture(scope="module")
def tokens():
    return load_token_source(tokenizer_dir())


def _parse(tokens, endpoint, body):
    return parse(endpoint, body, tokens, "served", max_req_input_len=100, context_length=1000)


def test_defaults_follow_sglang(tokens):
    assert _parse(tokens, "completions", {"prompt": " model"}).max_new_tokens == 16
    chat = _parse(tokens, "chat", {"messages": [{"role": "user", "content": "x"}]})
    assert chat.max_new_tokens == 128
    gen = _parse(tokens, "generate", {"text": " model"})
    assert gen.max_new_tokens == 128 and gen.model == "served" and not gen.stream
    assert gen.temperature == 1.0 and not gen.ignore_eos


def test_prompt_counts(tokens):
    assert _parse(tokens, "completions", {"prompt": " model" * 7}).prompt_tokens == 7
    assert _parse(tokens, "completions", {"prompt": [[1, 2, 3]]}).prompt_tokens == 3
    assert _parse(tokens, "generate", {"input_ids": [5, 6]}).prompt_tokens == 2
    # system + user + generation prompt: 3 x <|im_start|> ... <|im_end|> framing
    chat = _parse(tokens, "chat", {"messages": [{"role": "user", "content": " model"}]})
    assert chat.prompt_tokens == tokens.count(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n model<|im_end|>\n<|im_start|>assistant\n"
    )


def test_options(tokens):
    spec = _parse(
        tokens,
        "chat",
        {
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_completion_tokens": 5,
            "stream": True,
            "ignore_eos": True,
            "model": "mine",
            "stream_options": {"include_usage": True},
            "temperature": 0,
        },
    )
    assert (spec.max_new_tokens, spec.stream, spec.ignore_eos, spec.include_usage) == (
        5,
        True,
        True,
        True,
    )
    assert spec.model == "mine" and spec.temperature == 0.0
    assert _parse(tokens, "generate", {"text": "x", "rid": "r-1"}).body_rid == "r-1"


def test_greedy_output_key_depends_on_the_prompt_only(tokens):
    a = _parse(tokens, "completions", {"prompt": "the model", "temperature": 0})
    b = _parse(tokens, "completions", {"prompt": "the model", "max_tokens": 3})
    c = _parse(tokens, "completions", {"prompt": "the server"})
    assert a.prompt_key == b.prompt_key != c.prompt_key


@pytest.mark.parametrize(
    ("endpoint", "body", "needle"),
    [
        ("chat", {}, "messages is required"),
        ("chat", {"messages": []}, "non-empty"),
        ("chat", {"messages": [{"content": "x"}]}, "role"),
        ("completions", {"prompt": None}, "prompt must be"),
        ("completions", {"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ("completions", {"prompt": "x", "max_tokens": True}, "max_tokens"),
        ("completions", {"prompt": "x", "temperature": "hot"}, "temperature"),
        ("completions", {"prompt": "x", "n": 3}, "n=1"),
        ("completions", {"prompt": " model" * 101}, "context length"),
        ("completions", {"prompt": " model" * 100, "max_tokens": 901}, "maximum context length"),
        ("generate", {"sampling_params": {}}, "text or input_ids"),
        ("generate", {"input_ids": ["a"]}, "input_ids"),
        ("generate", {"text": "x", "sampling_params": []}, "sampling_params"),
        ("completions", [], "JSON object"),
    ],
)
def test_refusals_are_400s_that_say_why(tokens, endpoint, body, needle):
    with pytest.raises(ApiError, match=needle) as info:
        _parse(tokens, endpoint, body)
    assert info.value.status == 400


def test_each_endpoint_family_reads_its_own_fields(tokens):
    chat = FAMILIES["chat"]({"messages": [{"role": "user", "content": "x"}], "n": 2}, tokens, "s")
    assert isinstance(chat, Fields) and chat.material.startswith("<|im_start|>system")
    assert (chat.max_new, chat.n, chat.include_usage, chat.model) == (128, 2, False, "s")
    completions = FAMILIES["completions"]({"prompt": [" model"], "model": 5}, tokens, "s")
    assert (completions.material, completions.prompt_tokens) == (" model", 1)
    assert (completions.max_new, completions.model) == (16, "s")  # a model that is no string
    generate = FAMILIES["generate"](
        {"input_ids": None, "text": " model", "n": 3, "stream_options": {"include_usage": True}},
        tokens,
        "s",
    )
    assert (generate.material, generate.max_new, generate.n) == (" model", 128, 1)
    assert generate.include_usage is False  # /generate has no usage chunk


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("chat", {"messages": [{"role": "user", "content": "x"}], "max_tokens": None}, 128),
        ("completions", {"prompt": "x", "max_tokens": 3, "max_completion_tokens": 5}, 5),
        ("completions", {"prompt": "x", "temperature": None}, 16),
        ("generate", {"text": "x", "sampling_params": None}, 128),
        ("generate", {"text": "x", "sampling_params": {"max_new_tokens": 7}, "n": 4}, 7),
    ],
)
def test_defaults_and_precedence(tokens, endpoint, body, expected):
    spec = _parse(tokens, endpoint, body)
    assert spec.max_new_tokens == expected and spec.temperature == 1.0


def test_usage_needs_stream_options_to_be_an_object(tokens):
    body = {"prompt": "x", "stream_options": ["include_usage"]}
    assert _parse(tokens, "completions", body).include_usage is False


@pytest.mark.parametrize(
    ("endpoint", "body", "needle"),
    [
        ("chat", {"messages": [{"role": "user", "content": 5}]}, "message content must be"),
        ("completions", {"prompt": ""}, "the prompt is empty"),
        ("generate", {"text": "x", "sampling_params": {"max_new_tokens": None}}, "max_tokens"),
        # the shared checks run in one order: temperature, n, max_tokens, then lengths
        ("completions", {"prompt": "x", "temperature": -1, "n": 2}, "temperature"),
        ("completions", {"prompt": "", "n": 2, "max_tokens": 0}, "n=1"),
        ("completions", {"prompt": "", "max_tokens": 0}, "max_tokens"),
    ],
)
def test_more_refusals_and_their_order(tokens, endpoint, body, needle):
    with pytest.raises(ApiError, match=needle):
        _parse(tokens, endpoint, body)
