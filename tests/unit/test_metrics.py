"""Metrics from tiny records with numbers you can check in your head.

Times are in nanoseconds; 1 ms = 1_000_000 ns. `MS` makes the records readable.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrics import (
    PERCENTILE_METHOD,
    achieved_rate_rps,
    arrived_in_one_read,
    delivery,
    e2e_ns,
    itl_ms,
    meets_slo,
    run_metrics,
    summarize,
    tokens_per_read,
    tpot_ms,
    ttft_ns,
)
from bench.records import Record

MS = 1_000_000


def rec(index=0, send=0, chunks=(), tokens=None, done=None, **kw) -> Record:
    chunk_ns = tuple(c * MS for c in chunks)
    return Record(
        index=index,
        rid=f"r{index}",
        warmup=kw.pop("warmup", False),
        send_ns=send * MS,
        done_ns=(done if done is not None else (chunks[-1] if chunks else send)) * MS,
        chunk_ns=chunk_ns,
        chunk_tokens=tuple(tokens) if tokens is not None else (1,) * len(chunk_ns),
        chunk_tokens_source="server_usage",
        **kw,
    )


# --- summarize ---


def test_summarize_of_one_to_five():
    s = summarize([1, 2, 3, 4, 5])
    assert s == {
        "mean": 3.0,
        "median": 3.0,
        "p90": pytest.approx(4.6),
        "p99": pytest.approx(4.96),
        "std": pytest.approx(2**0.5),  # population std
        "min": 1.0,
        "max": 5.0,
        "count": 5,
    }


def test_summarize_of_nothing_is_none():
    assert summarize([]) is None


def test_summarize_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        summarize([1.0, float("nan")])


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50))
def test_summary_statistics_are_ordered(values):
    s = summarize(values)
    assert s["count"] == len(values)
    eps = 1e-9 * (1 + s["max"])
    assert s["min"] - eps <= s["median"] <= s["p90"] + eps <= s["p99"] + 2 * eps
    assert s["p99"] <= s["max"] + eps
    assert s["min"] - eps <= s["mean"] <= s["max"] + eps


# --- per-request ---


def test_ttft_e2e_and_tpot_of_one_request():
    # sent at 0; content at 10, 12, 14, 16 ms; usage says 4 tokens
    r = rec(chunks=(10, 12, 14, 16), completion_tokens_server=4)
    assert ttft_ns(r) == 10 * MS
    assert e2e_ns(r) == 16 * MS
    assert tpot_ms(r) == pytest.approx(2.0)  # (16 - 10) / (4 - 1)


def test_tpot_divides_by_n_minus_one_using_the_token_count_not_the_chunk_count():
    # two chunks, the second carries 3 tokens: 4 tokens in all
    r = rec(chunks=(10, 16), tokens=(1, 3), completion_tokens_server=4)
    assert tpot_ms(r) == pytest.approx(2.0)


def test_tpot_does_not_apply_to_a_single_token():
    assert tpot_ms(rec(chunks=(10,), completion_tokens_server=1)) is None


def test_itl_spreads_a_gap_over_the_tokens_of_the_later_chunk():
    r = rec(chunks=(10, 12, 18), tokens=(1, 1, 3))
    assert itl_ms(r) == pytest.approx([2.0, 2.0, 2.0, 2.0])


def test_itl_carries_a_gap_before_a_chunk_with_no_whole_token():
    r = rec(chunks=(10, 12, 14), tokens=(1, 0, 1))
    assert itl_ms(r) == pytest.approx([4.0])


def test_tokens_per_read_sums_the_chunks_that_share_an_arrival_time():
    # reads at 10 (2 chunks), 12 (1 chunk) and 15 ms (3 chunks, 4 tokens)
    r = rec(chunks=(10, 10, 12, 15, 15, 15), tokens=(1, 1, 1, 1, 2, 1))
    assert tokens_per_read(r) == [2, 1, 4]
    assert tokens_per_read(rec(chunks=(10, 12), error_kind="stream_cut")) == []


def test_a_reply_written_in_one_piece_arrives_in_one_read_with_zero_tpot_and_itl():
    whole = rec(chunks=(50, 50, 50, 50), completion_tokens_server=4)
    assert arrived_in_one_read(whole) is True
    assert tokens_per_read(whole) == [4]
    assert tpot_ms(whole) == 0.0 and itl_ms(whole) == [0.0, 0.0, 0.0]
    streamed = rec(chunks=(50, 50, 52, 54), completion_tokens_server=4)
    assert arrived_in_one_read(streamed) is False
    # where TPOT does not apply, neither does this
    assert arrived_in_one_read(rec(chunks=(50,), completion_tokens_server=1)) is None
    assert arrived_in_one_read(rec(chunks=(50, 50), error_kind="stream_cut")) is None


def test_delivery_counts_single_read_replies_and_summarizes_tokens_per_read():
    rs = [
        rec(0, chunks=(10, 10, 10), completion_tokens_server=3),  # one read of 3 tokens
        rec(1, chunks=(10, 11, 11, 12), completion_tokens_server=4),  # reads of 1, 2, 1
        rec(2, chunks=(10,), completion_tokens_server=1),  # N_out 1: not counted as one read
    ]
    d = delivery(rs)
    assert d["single_read_requests"] == 1
    assert d["tokens_per_read"]["count"] == 5  # 1 + 3 + 1 reads
    assert d["tokens_per_read"]["max"] == 3.0 and d["tokens_per_read"]["median"] == 1.0
    assert d["tokens_per_read"]["mean"] == pytest.approx(8 / 5)
    assert delivery([]) == {"single_read_requests": 0, "tokens_per_read": None}


def test_a_failed_request_has_no_latency():
    r = rec(chunks=(10, 12), error_kind="stream_cut")
    assert ttft_ns(r) is None and e2e_ns(r) is None and itl_ms(r) == []


def test_slo_checks_every_bound_given():
    r = rec(chunks=(10, 12, 14), completion_tokens_server=3)  # TTFT 10, TPOT 2, E2E 14
    assert meets_slo(r, {"ttft_ms": 10, "tpot_ms": 2, "e2e_ms": 14})
    assert not meets_slo(r, {"ttft_ms": 9.9})
    assert not meets_slo(r, {"tpot_ms": 1.9})
    assert not meets_slo(r, {"e2e_ms": 13})
    assert meets_slo(r, {"ttft_ms": None})


def test_achieved_rate_counts_intervals_between_sends():
    rs = [rec(i, send=s, chunks=(s + 1,)) for i, s in enumerate((0, 250, 500, 750, 1000))]
    assert achieved_rate_rps(rs) == pytest.approx(4.0)  # 4 intervals in 1 s
    assert achieved_rate_rps(rs[:1]) is None


# --- a whole run ---


def two_requests_and_a_failure():
    # window: first send 0 to last finish 1000 ms = 1 s
    return [
        rec(0, send=-500, chunks=(-400, -300), warmup=True),  # excluded
        rec(
            0,
            send=0,
            chunks=(100, 200, 300, 400),
            done=401,
            prompt_tokens_server=10,
            completion_tokens_server=4,
            prompt_tokens_client=10,
            completion_tokens_client=4,
            scheduled_ns=0,
        ),
        rec(
            1,
            send=500,
            chunks=(700, 800),
            done=1000,
            prompt_tokens_server=20,
            completion_tokens_server=2,
            prompt_tokens_client=20,
            completion_tokens_client=3,
            scheduled_ns=498 * MS,
        ),
        rec(2, send=600, done=650, error_kind="http_5xx", error="HTTP 503"),
    ]


def test_run_metrics_over_the_measured_window():
    m = run_metrics(two_requests_and_a_failure(), requested_rate_rps=2.0)
    assert m["duration_s"] == pytest.approx(1.0)
    assert (m["requests_sent"], m["requests_completed"], m["requests_failed"]) == (3, 2, 1)
    assert m["failures"] == {"http_5xx": 1}
    assert (m["total_input_tokens"], m["total_output_tokens"]) == (30, 6)
    assert m["request_throughput_rps"] == pytest.approx(2.0)
    assert m["input_throughput_tok_s"] == pytest.approx(30.0)
    assert m["output_throughput_tok_s"] == pytest.approx(6.0)
    assert m["total_throughput_tok_s"] == pytest.approx(36.0)
    # E2E 400 ms + 300 ms over a 1 s window
    assert m["achieved_concurrency"] == pytest.approx(0.7)
    assert m["requested_rate_rps"] == 2.0
    assert m["achieved_rate_rps"] == pytest.approx(2 / 0.6)  # sends at 0, 500, 600 ms
    assert m["schedule_lag_ms"]["max"] == pytest.approx(2.0)
    assert m["ttft_ms"]["mean"] == pytest.approx(150.0)  # 100 and 200
    assert m["tpot_ms"]["median"] == pytest.approx(100.0)  # 300/3 and 100/1
    assert m["itl_ms"]["count"] == 4  # 3 gaps + 1 gap
    assert m["e2e_ms"]["max"] == pytest.approx(400.0)
    assert m["tpot_excluded_requests"] == 0
    assert m["interactivity_tok_s"] == pytest.approx(10.0)
    assert m["token_counts"] == {
        "input_source": "server_usage",
        "output_source": "server_usage",
        "requests_with_mismatch": 1,
        "output_tokens_mismatch": 1,
        "input_tokens_mismatch": 0,
    }
    assert m["delivery"]["single_read_requests"] == 0
    assert m["delivery"]["tokens_per_read"]["max"] == 1.0  # token by token
    assert m["delivery"]["tokens_per_read"]["count"] == 6
    assert m["percentile_method"] == PERCENTILE_METHOD


def test_goodput_counts_completed_requests_meeting_every_slo():
    m = run_metrics(two_requests_and_a_failure(), slo={"ttft_ms": 150})
    assert m["goodput_rps"] == pytest.approx(1.0)  # only the 100 ms TTFT meets it
    assert m["slo"] == {"ttft_ms": 150, "tpot_ms": None, "e2e_ms": None}
    assert run_metrics(two_requests_and_a_failure())["goodput_rps"] is None


def test_throughput_per_npu():
    m = run_metrics(two_requests_and_a_failure(), accelerators=2)
    assert m["output_throughput_per_npu_tok_s"] == pytest.approx(3.0)


def test_sources_are_mixed_when_requests_disagree():
    rs = [
        rec(0, chunks=(1, 2), completion_tokens_server=2, prompt_tokens_client=5),
        rec(1, chunks=(1, 2), completion_tokens_client=2, prompt_tokens_client=5),
    ]
    tc = run_metrics(rs)["token_counts"]
    assert tc["output_source"] == "mixed"
    assert tc["input_source"] == "tokenizer"
    assert tc["requests_with_mismatch"] is None  # no request had both counts


def test_a_run_with_no_records_has_no_made_up_numbers():
    m = run_metrics([])
    assert m["duration_s"] == 0 and m["requests_sent"] == 0
    assert "output_throughput_tok_s" not in m and "ttft_ms" not in m


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(0, 5)),
        min_size=2,
        max_size=30,
    )
)
def test_itl_values_add_up_to_the_time_between_first_and_last_chunk(chunks):
    times = [0]
    for gap, _tokens in chunks[1:]:
        times.append(times[-1] + gap)
    tokens = [1] + [t for _gap, t in chunks[1:]]
    if tokens[-1] == 0:
        tokens[-1] = 1  # a gap carried past the last chunk has nowhere to go
    r = Record(
        index=0, rid="r", warmup=False, send_ns=0, done_ns=times[-1],
        chunk_ns=tuple(times), chunk_tokens=tuple(tokens), chunk_tokens_source="tokenizer",
    )  # fmt: skip
    values = itl_ms(r)
    assert len(values) == sum(tokens[1:])
    assert sum(values) == pytest.approx(times[-1] / MS, rel=1e-9, abs=1e-9)
