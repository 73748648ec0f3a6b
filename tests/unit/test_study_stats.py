"""Statistics over repeats and the Pareto rule, with numbers checked by hand."""

from __future__ import annotations

import math

import pytest

from bench.study.pareto import dominates, front
from bench.study.stats import bootstrap_p99, cell_statistics, headline_values, summarize


def test_student_t_interval_of_three_repeats():
    s = summarize([10.0, 12.0, 14.0])
    # mean 12, sample std 2, cv 1/6; t(0.975, df 2) = 4.302653 -> 12 +- 4.302653 x 2 / sqrt 3
    half = 4.302653 * 2 / math.sqrt(3)
    assert (s.n, s.mean, s.std) == (3, 12.0, 2.0)
    assert s.cv == pytest.approx(1 / 6)
    assert s.ci95_low == pytest.approx(12 - half, abs=1e-5)
    assert s.ci95_high == pytest.approx(12 + half, abs=1e-5)


def test_two_repeats_use_t_with_one_degree_of_freedom():
    s = summarize([100.0, 102.0])
    # std sqrt(2), t(0.975, 1) = 12.706205 -> 101 +- 12.706205 x sqrt 2 / sqrt 2
    assert s.ci95_low == pytest.approx(101 - 12.706205, abs=1e-5)
    assert s.ci95_high == pytest.approx(101 + 12.706205, abs=1e-5)


def test_one_repeat_has_no_spread_and_no_interval_and_none_has_nothing():
    assert summarize([5.0]).as_dict() == {
        "n": 1, "mean": 5.0, "std": None, "cv": None, "ci95_low": None, "ci95_high": None,
    }  # fmt: skip
    assert summarize([]) is None
    same = summarize([7.0, 7.0, 7.0])
    assert (same.std, same.cv, same.ci95_low, same.ci95_high) == (0.0, 0.0, 7.0, 7.0)


def test_bootstrap_of_the_pooled_p99_is_seeded_and_holds_the_point():
    values = [float(v) for v in range(1, 201)]  # p99 by numpy's linear rule: 198.01
    a = bootstrap_p99(values, seed=0)
    assert a == bootstrap_p99(values, seed=0)
    assert a["p99"] == pytest.approx(198.01) and a["n"] == 200
    assert a["ci95_low"] <= a["p99"] <= a["ci95_high"] <= 200
    assert bootstrap_p99([3.0, 3.0], seed=0)["ci95_low"] == 3.0
    assert bootstrap_p99([], seed=0) is None


def test_cell_statistics_flag_a_cell_over_cv_max():
    runs = [{"output_throughput_tok_s": 100.0}, {"output_throughput_tok_s": 120.0}]
    out = cell_statistics(runs, {}, cv_max=0.05, seed=0)
    # std 14.142, mean 110: cv 0.1286 > 0.05
    assert out["unstable"] and out["statistics"]["output_throughput_tok_s"]["n"] == 2
    assert out["statistics"]["ttft_ms_p99"] is None
    assert not cell_statistics(runs, {}, cv_max=0.2, seed=0)["unstable"]


def test_headline_values_read_a_throughput_runs_metrics():
    metrics = {
        "output_throughput_tok_s": 10,
        "ttft_ms": {"median": 1.0, "p99": 2.0},
        "tpot_ms": None,
        "interactivity_tok_s": 50.0,
    }
    values = headline_values(metrics)
    assert values["output_throughput_tok_s"] == 10.0 and values["ttft_ms_p99"] == 2.0
    assert values["tpot_ms_p50"] is None and values["output_throughput_per_npu_tok_s"] is None


def test_the_pareto_rule():
    # b beats a on both axes; c is better on x only; d equals c (neither dominates)
    points = [("a", 1.0, 1.0), ("b", 2.0, 2.0), ("c", 3.0, 1.5), ("d", 3.0, 1.5), ("e", 0.5, 5.0)]
    assert front(points) == ["e", "b", "c", "d"]
    assert dominates((2, 2), (1, 1)) and dominates((2, 1), (1, 1))
    assert not dominates((1, 1), (1, 1)) and not dominates((3, 0), (1, 1))
    assert front([]) == []
