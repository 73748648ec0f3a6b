"""Prefix-cache metrics from tiny records whose numbers can be checked by hand."""

from __future__ import annotations

import json

from bench.metrics import input_tokens, run_metrics
from bench.metrics.cache import group_firsts, prefix_cache_metrics
from bench.records import Record

MS = 1_000_000


def rec(index, *, group=None, turn=None, send_ms=0, ttft_ms=10, n_in=100, cached=None,
        ok=True, warmup=False):  # fmt: skip
    send = send_ms * MS
    return Record(
        index=index,
        rid=f"r{index}",
        warmup=warmup,
        send_ns=send,
        done_ns=send + (ttft_ms + 5) * MS,
        chunk_ns=(send + ttft_ms * MS, send + (ttft_ms + 5) * MS) if ok else (),
        chunk_tokens=(1, 1) if ok else (),
        prompt_tokens_server=n_in,
        completion_tokens_server=2 if ok else None,
        cached_tokens_server=cached,
        group=group,
        turn=turn,
        error_kind=None if ok else "http_5xx",
    )


def test_cached_tokens_and_hit_rate_over_completed_requests():
    records = [
        rec(0, cached=0),
        rec(1, cached=64),
        rec(2, cached=None),  # SGLang leaves the details out when it cached nothing: 0
        rec(3, cached=96, ok=False),  # failed: not counted
        rec(4, cached=1000, warmup=True),  # warm-up: not counted
    ]
    m = run_metrics(records)
    assert m["cached_prompt_tokens"] == 64
    assert m["total_input_tokens"] == 300
    assert m["prefix_cache_hit_rate"] == 64 / 300


def test_no_request_reporting_cached_tokens_gives_none_not_zero():
    m = run_metrics([rec(0), rec(1)])
    assert (m["cached_prompt_tokens"], m["prefix_cache_hit_rate"]) == (None, None)
    assert "ttft_first_of_group_ms" not in m and "per_turn" not in m


def test_the_first_of_a_group_is_its_earliest_send_not_its_index():
    records = [
        rec(0, group=0, send_ms=5),
        rec(1, group=1, send_ms=1),
        rec(2, group=0, send_ms=2),  # group 0's first: sent at 2 ms
        rec(3, group=1, send_ms=1),  # sent with index 1 at the same time: index 1 wins
    ]
    assert group_firsts(records) == {1, 2}


def test_ttft_of_first_and_rest_of_group():
    records = [
        rec(0, group=0, send_ms=0, ttft_ms=50, cached=0),
        rec(1, group=0, send_ms=100, ttft_ms=10, cached=64),
        rec(2, group=0, send_ms=200, ttft_ms=12, cached=64),
        rec(3, group=1, send_ms=50, ttft_ms=40, cached=0),
        rec(4, group=1, send_ms=300, ttft_ms=11, cached=64, ok=False),
    ]
    m = run_metrics(records)
    first, rest = m["ttft_first_of_group_ms"], m["ttft_rest_of_group_ms"]
    assert (first["count"], first["median"], first["min"]) == (2, 45.0, 40.0)
    assert (rest["count"], rest["median"]) == (2, 11.0)  # the failed one is not counted
    assert first["count"] + rest["count"] == m["ttft_ms"]["count"]
    assert m["cached_prompt_tokens"] == 128


def test_per_turn_figures():
    records = [
        rec(0, group=0, turn=0, n_in=100, cached=0, ttft_ms=20),
        rec(1, group=0, turn=1, n_in=250, cached=128, ttft_ms=12),
        rec(2, group=1, turn=0, n_in=100, cached=None, ttft_ms=30),
        rec(3, group=1, turn=1, n_in=260, cached=128, ttft_ms=14),
    ]
    m = run_metrics(records)
    assert m["per_turn"] == [
        {"turn": 0, "requests_completed": 2, "ttft_ms": m["per_turn"][0]["ttft_ms"],
         "input_tokens": 200, "cached_prompt_tokens": 0, "prefix_cache_hit_rate": 0.0},
        {"turn": 1, "requests_completed": 2, "ttft_ms": m["per_turn"][1]["ttft_ms"],
         "input_tokens": 510, "cached_prompt_tokens": 256, "prefix_cache_hit_rate": 256 / 510},
    ]  # fmt: skip
    assert m["per_turn"][0]["ttft_ms"]["median"] == 25.0
    assert m["per_turn"][1]["ttft_ms"]["median"] == 13.0
    # a conversation's first turn is its group's first request
    assert m["ttft_first_of_group_ms"]["median"] == 25.0
    json.dumps(m, allow_nan=False)  # a document can hold it


def test_the_pure_function_takes_the_runs_own_metric_functions():
    def stats(records):
        return {"count": len(records)} if records else None

    out = prefix_cache_metrics([rec(0, group=3), rec(1, group=3, send_ms=1)], stats, input_tokens)
    assert out["ttft_first_of_group_ms"] == {"count": 1}
    assert out["ttft_rest_of_group_ms"] == {"count": 1}
