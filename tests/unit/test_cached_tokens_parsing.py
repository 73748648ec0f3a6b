"""Cached prompt tokens: read from every shape a server reports them in, kept in the record,
and records written before the field existed still read."""

from __future__ import annotations

import json

import pytest

from bench.client.sse import StreamState
from bench.client.stream import RequestSpec, to_record
from bench.records import Record, read_records


def stream(*objects) -> StreamState:
    state = StreamState()
    for t, obj in enumerate(objects, start=1):
        state.feed_line(t, b"data: " + json.dumps(obj).encode())
        state.feed_line(t, b"")
    state.feed_line(99, b"data: [DONE]")
    state.feed_eof(100)
    return state


CHUNK = {"id": "x", "choices": [{"index": 0, "delta": {"content": " a"}, "finish_reason": None}]}
END = {"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}


def usage(cached):
    details = None if cached is None else {"cached_tokens": cached}
    return {
        "id": "x",
        "choices": [],
        "usage": {"prompt_tokens": 300, "completion_tokens": 1, "prompt_tokens_details": details},
    }


@pytest.mark.parametrize(("cached", "expected"), [(256, 256), (0, 0), (None, None)])
def test_openai_and_sglang_usage_details(cached, expected):
    # SGLang with --enable-cache-report: {"cached_tokens": N} when N > 0, else null
    state = stream(CHUNK, END, usage(cached))
    assert (state.cached_tokens, state.prompt_tokens) == (expected, 300)


def test_llama_cpp_timings_cache_n_when_usage_has_no_details():
    final = {**END, "usage": {"prompt_tokens": 300, "completion_tokens": 1}}
    final["timings"] = {"cache_n": 288, "prompt_n": 12}
    assert stream(CHUNK, final).cached_tokens == 288


def test_usage_details_win_over_timings_whatever_the_order():
    timings = {**CHUNK, "timings": {"cache_n": 7}}
    assert stream(timings, END, usage(256)).cached_tokens == 256
    both = {**usage(256), "timings": {"cache_n": 7}}
    assert stream(CHUNK, END, both).cached_tokens == 256


@pytest.mark.parametrize("junk", [-1, "256", True, 2.5, [1]])
def test_a_value_that_is_not_a_count_is_ignored(junk):
    final = {**usage(None), "usage": {"prompt_tokens": 3, "prompt_tokens_details": {}}}
    final["usage"]["prompt_tokens_details"]["cached_tokens"] = junk
    final["timings"] = {"cache_n": junk}
    assert stream(CHUNK, END, final).cached_tokens is None


def test_the_record_keeps_cached_tokens_group_and_turn():
    spec = RequestSpec(index=3, rid="r", url="u", body={}, group=2, turn=1)
    record = to_record(
        spec, stream(CHUNK, END, usage(128)), send_ns=0, done_ns=5, status=200,
        scheduled_ns=None, tokenizer=None,
    )  # fmt: skip
    assert (record.cached_tokens_server, record.group, record.turn) == (128, 2, 1)
    assert Record.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_records_without_the_new_fields_still_read(tmp_path):
    old = {
        "index": 0, "rid": "r", "warmup": False, "send_ns": 1, "done_ns": 9,
        "chunk_ns": [5], "chunk_tokens": [1], "chunk_tokens_source": "server_usage",
    }  # fmt: skip
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    (record,) = read_records(path)
    assert (record.cached_tokens_server, record.group, record.turn) == (None, None, None)


def test_a_cached_token_count_of_the_wrong_type_is_refused():
    with pytest.raises(ValueError, match="cached_tokens_server must be an integer"):
        Record.from_json(
            {"index": 0, "rid": "r", "warmup": False, "send_ns": 1, "done_ns": 2,
             "cached_tokens_server": "12"}
        )  # fmt: skip
