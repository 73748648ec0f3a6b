"""The self-test's comparison of one record with the simulator's ground truth, by hand."""

from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.records import Record
from bench.selftest import accuracy_of, compare, join

MS = 1_000_000


def record(**kw) -> Record:
    base = dict(
        index=0,
        rid="m0",
        warmup=False,
        submit_ns=0,
        send_ns=1 * MS,  # written to the socket 1 ms after the client began
        done_ns=60 * MS,
        chunk_ns=(21 * MS, 31 * MS, 41 * MS),  # first chunk received at 21 ms
        chunk_tokens=(1, 1, 1),
        chunk_tokens_source="tokenizer",
        response_id="id0",
        completion_tokens_server=3,
        completion_tokens_client=3,
    )
    base.update(kw)
    return Record(**base)


# the simulator stamped the arrival at 3 ms and wrote tokens at 20.5, 30.5, 40 ms
TRUTH = {"id": "id0", "arrival_ns": 3 * MS, "token_ns": [20_500_000, 30_500_000, 40 * MS],
         "completion_tokens": 3}  # fmt: skip


def test_errors_of_one_request():
    c = compare(record(), TRUTH)
    assert c.ttft_error_ms == pytest.approx(0.5)  # received 21, written 20.5
    assert c.send_overhead_ms == pytest.approx(1.0)
    assert c.arrival_lag_ms == pytest.approx(2.0)
    # measured TPOT (41 - 21) / 2 = 10 ms; true (40 - 20.5) / 2 = 9.75 ms
    assert c.tpot_error_ms == pytest.approx(0.25)
    assert c.tpot_error_pct == pytest.approx(100 * 0.25 / 9.75)
    assert c.tokens_exact


def test_a_token_count_off_by_one_is_not_exact():
    assert not compare(record(completion_tokens_client=4), TRUTH).tokens_exact
    assert not compare(record(chunk_tokens=(1, 1, 2)), TRUTH).tokens_exact


def test_join_refuses_failed_or_unknown_requests():
    with pytest.raises(BenchError, match="failed"):
        join([record(error_kind="timeout", error="late")], {"id0": TRUTH})
    with pytest.raises(BenchError, match="no ground truth"):
        join([record(response_id="other")], {"id0": TRUTH})
    assert join([record(warmup=True)], {}) == []


def test_accuracy_summarises_absolute_errors():
    acc = accuracy_of(
        [compare(record(), TRUTH), compare(record(chunk_ns=(19 * MS, 31 * MS, 41 * MS)), TRUTH)]
    )
    assert acc["requests_compared"] == 2
    assert acc["ttft_abs_error_ms"]["max"] == pytest.approx(1.5)  # |19 - 20.5|
    assert acc["output_tokens_exact"] is True
