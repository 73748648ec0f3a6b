"""The stream parser accepts every OpenAI-compatible stream shape (no network: raw lines)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bench.client.sse import StreamState
from bench.client.stream import split_lines


def feed(*events, sep: bytes = b"\n\n", prefix: bytes = b"data: ", eof: bool = True):
    """Feed events (dicts, "[DONE]" or raw bytes) at t = 10, 20, 30 ... ns."""
    state = StreamState()
    t = 0
    for event in events:
        t += 10
        if isinstance(event, bytes):
            raw = event
        else:
            text = event if isinstance(event, str) else json.dumps(event)
            raw = prefix + text.encode() + sep
        for line in raw.splitlines(keepends=True):
            state.feed_line(t, line)
    if eof:
        state.feed_eof(t + 1)
    return state


def chat(content=None, *, role=None, finish=None, usage=None, reasoning=None, rid="r1"):
    delta = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    obj = {"id": rid, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        obj["usage"] = usage
    return obj


USAGE = {"prompt_tokens": 7, "completion_tokens": 3}


def test_sglang_shape_role_chunk_then_tokens_then_usage_with_empty_choices():
    s = feed(
        chat(role="assistant", content=""),
        chat(" a"),
        chat(" b"),
        chat(" c", finish="length"),
        {"id": "r1", "choices": [], "usage": USAGE},
        "[DONE]",
    )
    assert not s.failed
    assert s.chunk_ns == [20, 30, 40]  # the role-only chunk is not the first token
    assert s.text == " a b c"
    assert (s.prompt_tokens, s.completion_tokens, s.finish_reason) == (7, 3, "length")
    assert s.response_id == "r1"


def test_usage_on_the_last_chunk_that_still_has_a_choice():
    s = feed(chat(" a"), chat(" b c", finish="stop", usage=USAGE), "[DONE]")
    assert s.completion_tokens == 3 and s.chunk_text == [" a", " b c"]


def test_no_usage_at_all_leaves_the_counts_to_the_tokenizer():
    s = feed(chat(" a"), chat(" b", finish="stop"), "[DONE]")
    assert not s.failed and s.completion_tokens is None and s.prompt_tokens is None


def test_usage_on_every_chunk_gives_per_chunk_deltas():
    s = feed(
        chat(" a", usage={"prompt_tokens": 7, "completion_tokens": 1}),
        chat(" b c", usage={"prompt_tokens": 7, "completion_tokens": 3}, finish="length"),
        "[DONE]",
    )
    assert s.chunk_usage_tokens == [1, 2]


def test_missing_done_after_a_finish_reason_is_complete():
    s = feed(chat(" a"), chat(" b", finish="stop"), {"id": "r1", "choices": [], "usage": USAGE})
    assert not s.failed


def test_keep_alive_comments_other_fields_and_data_without_a_space():
    raw = b": keep-alive\n\nevent: message\nid: 4\ndata:" + json.dumps(chat(" a")).encode()
    s = feed(raw + b"\n\n", chat(" b", finish="stop"), b"data:[DONE]\n\n")
    assert s.text == " a b" and not s.failed


def test_crlf_line_endings():
    s = feed(chat(" a", finish="stop"), "[DONE]", sep=b"\r\n\r\n")
    assert s.text == " a" and not s.failed


def test_a_json_event_split_over_several_data_lines():
    text = json.dumps(chat(" a", finish="stop"), indent=1)
    raw = b"".join(b"data: " + line.encode() + b"\n" for line in text.splitlines()) + b"\n"
    s = feed(raw, "[DONE]")
    assert s.text == " a" and not s.failed


def test_reasoning_content_counts_as_content():
    s = feed(chat(reasoning=" think"), chat(" answer", finish="stop"), "[DONE]")
    assert s.chunk_ns == [10, 20] and s.text == " think answer"


def test_completions_api_text_chunks():
    s = feed({"id": "c", "choices": [{"text": " a", "finish_reason": None}]}, "[DONE]")
    assert s.text == " a" and not s.failed


def test_a_stream_that_just_ends_was_cut():
    s = feed(chat(" a"), chat(" b"))
    assert s.error_kind == "stream_cut"


def test_a_chunk_that_is_not_json_is_malformed():
    s = feed(chat(" a"), b"data: {not json\n\n", chat(" b", finish="stop"), "[DONE]")
    assert s.error_kind == "malformed"
    assert s.text == " a"


def test_an_error_object_in_the_stream():
    s = feed(chat(" a"), {"error": {"message": "out of memory"}})
    assert s.error_kind == "server_error" and "out of memory" in s.error


def test_a_non_streamed_json_body_is_one_chunk():
    state = StreamState()
    body = {
        "id": "x",
        "choices": [{"message": {"role": "assistant", "content": " a b"}, "finish_reason": "stop"}],
        "usage": USAGE,
    }
    state.feed_json_body(5, json.dumps(body).encode())
    assert state.chunk_ns == [5] and state.text == " a b" and state.completion_tokens == 3
    assert not state.failed


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_any_split_of_the_bytes_gives_the_same_lines(cuts):
    body = (
        b"".join(b"data: " + json.dumps(chat(f" w{i}")).encode() + b"\n\n" for i in range(5))
        + b": keep-alive\r\n\r\ndata: [DONE]\n\n"
    )
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(body[at : at + cut])
        at += cut
    pieces.append(body[at:])
    lines, rest = [], b""
    for piece in pieces:
        complete, rest = split_lines(rest, piece)
        lines.extend(complete)
    assert [*lines, rest] == body.split(b"\n")
