"""Energy, gaps, edge values and plot series of a timeline, with numbers checkable by hand."""

from __future__ import annotations

import pytest

from bench.telemetry import energy

S = 1_000_000_000  # one second in ns


def test_constant_power_over_a_window_is_power_times_duration():
    points = [(t * S, 300.0) for t in range(0, 11)]  # 300 W, sampled every second
    joules, why = energy.energy_j(points, int(2.5 * S), int(7.25 * S), 1.0)
    assert why is None
    assert joules == pytest.approx(300.0 * 4.75)


def test_edges_are_interpolated_between_the_samples_around_them():
    # 100 W at t=0, 200 W at t=1 s, 200 W at t=2 s: a ramp, then flat
    points = [(0, 100.0), (S, 200.0), (2 * S, 200.0)]
    assert energy.value_at(points, S // 2) == pytest.approx(150.0)
    # window [0.5 s, 1.5 s]: trapezoid 150->200 over 0.5 s (87.5 J) + 200 W x 0.5 s (100 J)
    joules, _ = energy.energy_j(points, S // 2, 3 * S // 2, 1.0)
    assert joules == pytest.approx(187.5)


def test_a_window_inside_one_interval_is_one_trapezoid():
    points = [(0, 100.0), (S, 300.0)]
    # [0.25 s, 0.75 s]: 150 W to 250 W over 0.5 s = 100 J
    joules, _ = energy.energy_j(points, S // 4, 3 * S // 4, 1.0)
    assert joules == pytest.approx(100.0)


def test_a_gap_over_three_intervals_leaves_energy_unknown_with_the_reason():
    points = [(0, 100.0), (S, 100.0), (5 * S, 100.0), (6 * S, 100.0)]  # 4 s without a sample
    joules, why = energy.energy_j(points, S // 2, int(5.5 * S), 1.0)
    assert joules is None
    assert "gap of 4.0 s" in why and "3 intervals of 1 s" in why
    # exactly three intervals is allowed
    joules, why = energy.energy_j([(0, 1.0), (3 * S, 1.0)], S, 2 * S, 1.0)
    assert why is None and joules == pytest.approx(1.0)


def test_no_sample_before_the_window_counts_as_a_gap_from_its_start():
    points = [(4 * S, 50.0), (5 * S, 50.0)]
    joules, why = energy.energy_j(points, 0, 5 * S, 1.0)
    assert joules is None and "gap of 4.0 s" in why
    joules, why = energy.energy_j(points, 3 * S, 5 * S, 1.0)  # held from the nearest: 1 s
    assert why is None and joules == pytest.approx(100.0)


def test_empty_window_or_timeline_is_unknown():
    assert energy.energy_j([(0, 1.0)], 5, 5, 1.0) == (None, "the measured window is empty")
    assert energy.energy_j([], 0, S, 1.0) == (None, "no power sample was taken")


def test_gaps_count_spacings_over_one_and_a_half_intervals():
    times = [0, S, 2 * S, 4 * S, 5 * S, int(6.4 * S)]
    assert energy.count_gaps(times, 1.0) == 1


def test_window_values_are_the_samples_inside_or_the_two_around_it():
    points = [(0, 1.0), (S, 2.0), (2 * S, 3.0), (3 * S, 4.0)]
    assert energy.window_values(points, S, 2 * S) == [2.0, 3.0]
    assert energy.window_values(points, S + 1, S + 2) == [2.0, 3.0]


def test_series_thins_by_averaging_runs_and_starts_at_the_origin():
    points = [(t * S, float(t)) for t in range(10)]
    times, values = energy.series(points, 2 * S, 5)
    assert times == [-1.5, 0.5, 2.5, 4.5, 6.5]
    assert values == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert energy.series([], 0, 5) == ([], [])
