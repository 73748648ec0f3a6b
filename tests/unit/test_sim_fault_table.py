"""Fault decisions: validated rates, seeded, reproducible, 0% never and 100% always."""

from __future__ import annotations

import pytest

from bench.errors import UsageError
from bench.sim.faults import FaultConfig, decide


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"drop_rate": 2.0},
        {"stall_rate": -1.0},
        {"malformed_rate": 1.01},
        {"burst_rate": 1.5},
        {"burst_rate": -0.5},
        {"stall_s": -1.0},
        {"drop_after": -1},
        {"crash_after": -2},
    ],
)
def test_out_of_range_settings_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        FaultConfig(**kwargs)


def test_zero_rates_inject_nothing():
    config = FaultConfig(error_rate=0.0, malformed_rate=0.0, burst_rate=0.0)
    assert all(decide(config, 1, i).names == [] for i in range(500))


def test_full_rates_inject_every_time():
    config = FaultConfig(malformed_rate=1.0, drop_after=3, stall_s=0.5, burst_rate=1.0)
    for i in range(200):
        faults = decide(config, 1, i)
        assert faults.names == ["stall", "malformed", "drop", "burst"]
        assert faults.drop_after == 3 and faults.stall_s == 0.5
    assert all(decide(FaultConfig(error_rate=1.0), 1, i).error_500 for i in range(200))


def test_a_rate_injects_about_that_fraction_and_is_reproducible():
    config = FaultConfig(error_rate=0.25)
    hits = [decide(config, 42, i).error_500 for i in range(2000)]
    assert 0.21 < sum(hits) / 2000 < 0.29
    assert hits == [decide(config, 42, i).error_500 for i in range(2000)]
    assert hits != [decide(config, 43, i).error_500 for i in range(2000)]


def test_one_faults_rate_does_not_shift_anothers_draws():
    a = [decide(FaultConfig(malformed_rate=0.5), 7, i).malformed for i in range(300)]
    b = [
        decide(FaultConfig(malformed_rate=0.5, drop_after=1, drop_rate=0.3), 7, i).malformed
        for i in range(300)
    ]
    assert a == b


def test_a_burst_rate_holds_about_that_fraction_of_streams_reproducibly():
    hits = [decide(FaultConfig(burst_rate=0.6), 5, i).burst for i in range(2000)]
    assert 0.56 < sum(hits) / 2000 < 0.64
    assert hits == [decide(FaultConfig(burst_rate=0.6, malformed_rate=0.5), 5, i).burst
                    for i in range(2000)]  # fmt: skip
