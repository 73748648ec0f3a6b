"""The schedule is a pure function: (rate, burstiness, n, seed) -> send offsets."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.errors import UsageError
from bench.workload.schedule import send_offsets_ns


def test_an_infinite_rate_sends_everything_at_once():
    assert send_offsets_ns(math.inf, 4) == [0, 0, 0, 0]


def test_the_first_request_goes_at_once_and_the_mean_gap_is_one_over_the_rate():
    offsets = send_offsets_ns(10.0, 2001, seed=1)
    assert offsets[0] == 0
    mean_gap_s = offsets[-1] / 2000 / 1e9
    assert mean_gap_s == pytest.approx(0.1, rel=0.1)


def test_the_same_seed_gives_the_same_schedule():
    assert send_offsets_ns(4.0, 50, seed=3) == send_offsets_ns(4.0, 50, seed=3)
    assert send_offsets_ns(4.0, 50, seed=3) != send_offsets_ns(4.0, 50, seed=4)


def test_burstier_schedules_have_more_spread_out_gaps():
    def spread(burstiness):
        o = send_offsets_ns(10.0, 3000, burstiness=burstiness, seed=0)
        gaps = [b - a for a, b in itertools.pairwise(o)]
        mean = sum(gaps) / len(gaps)
        return (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5 / mean

    assert spread(0.25) > spread(1.0) > spread(4.0)


@pytest.mark.parametrize(
    ("rate", "burstiness", "message"),
    [(0.0, 1.0, "--request-rate"), (-1.0, 1.0, "--request-rate"), (1.0, 0.0, "--burstiness")],
)
def test_bad_parameters_are_usage_errors(rate, burstiness, message):
    with pytest.raises(UsageError, match=message):
        send_offsets_ns(rate, 3, burstiness=burstiness)


@given(
    rate=st.floats(min_value=0.01, max_value=1e4),
    n=st.integers(min_value=0, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_offsets_never_go_backwards(rate, n, seed):
    offsets = send_offsets_ns(rate, n, seed=seed)
    assert len(offsets) == n
    assert all(b >= a for a, b in itertools.pairwise(offsets))
    assert all(isinstance(o, int) for o in offsets)
