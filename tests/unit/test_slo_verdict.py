"""A run's and a probe's verdict against an SLO, with numbers checked by hand: percentile
bounds, failed requests, attainment's Wilson interval, and the per-request bounds the SLO
keys give."""

from __future__ import annotations

import pytest

from bench.errors import InputError
from bench.slo.spec import parse_search, parse_slo, parse_slo_text
from bench.slo.verdict import FAIL, PASS, UNCERTAIN, RunFacts, probe_verdict, run_misses, wilson


def facts(p99=100.0, sent=100, failed=0, good=100, **stats):
    return RunFacts({"ttft_p99_ms": p99, **stats}, sent, failed, good, 10.0)


def test_each_metric_holds_requests_to_its_highest_percentiles_bound():
    slo = parse_slo({"ttft_p50_ms": 500, "ttft_p99_ms": 2000, "tpot_p90_ms": 50}, "[search]")
    assert slo.per_request() == {"ttft_ms": 2000.0, "tpot_ms": 50.0, "e2e_ms": None}
    assert slo.text == "ttft_p50_ms=500, ttft_p99_ms=2000, tpot_p90_ms=50"


def test_a_run_misses_a_bound_by_its_statistic_or_by_its_failed_requests():
    slo = parse_slo({"ttft_p99_ms": 500, "tpot_p50_ms": 20}, "x")
    assert run_misses(facts(400, tpot_p50_ms=19.0), slo) == []
    assert run_misses(facts(600, tpot_p50_ms=19.0), slo) == ["TTFT p99 600 ms > 500 ms"]
    # 1 failed of 100 is what a p99 tolerates; 2 are not (a p50 tolerates 50)
    assert run_misses(facts(400, failed=1, tpot_p50_ms=19.0), slo) == []
    assert run_misses(facts(400, failed=2, tpot_p50_ms=19.0), slo) == [
        "TTFT p99: 2 of 100 requests failed"
    ]
    # a statistic no request gives (every reply one token) is not checked
    assert run_misses(facts(400, tpot_p50_ms=None), slo) == []


def test_the_wilson_interval_is_scipys_and_judges_the_target():
    # 95 of 100: Wilson (0.888, 0.978) by the formula (p + z^2/2n +- z sqrt(...)) / (1 + z^2/n)
    a = wilson(95, 100, 0.95)
    assert (a.ci95_low, a.ci95_high) == pytest.approx((0.8882, 0.9785), abs=1e-4)
    assert a.status == UNCERTAIN
    assert wilson(100, 100, 0.95).status == PASS  # low = 100 / 103.84 = 0.963
    assert wilson(32, 32, 0.95).status == UNCERTAIN  # low = 32 / 35.84 = 0.893
    assert wilson(80, 100, 0.95).status == FAIL  # high 0.867


def test_a_probe_is_uncertain_when_its_runs_disagree_and_fails_when_attainment_fails():
    slo = parse_slo({"ttft_p99_ms": 500}, "x")
    assert probe_verdict([facts(400), facts(450)], slo).status == PASS
    split = probe_verdict([facts(400), facts(600)], slo)
    assert split.status == UNCERTAIN and split.runs_passing == 1
    assert split.reasons == ("runs disagree: 1 of 2 within the percentile bounds",)
    assert probe_verdict([facts(600), facts(700)], slo).status == FAIL
    with_target = parse_slo({"ttft_p99_ms": 500, "attainment": 0.95}, "x")
    # percentiles pass, but 80 of 100 requests meet the bounds: certainly below 0.95
    failed = probe_verdict([facts(400, good=80)], with_target)
    assert failed.status == FAIL and "attainment 0.800 (95% CI 0.711 to 0.867" in failed.reasons[0]
    # pooled over runs the interval narrows: 32 of 32 is uncertain, 96 of 96 passes
    one = [RunFacts({"ttft_p99_ms": 1.0}, 32, 0, 32, 1.0)]
    assert probe_verdict(one, with_target).status == UNCERTAIN
    assert probe_verdict(one * 3, with_target).status == PASS


def test_bad_slo_text_and_values_are_one_line():
    assert parse_slo_text("ttft_p99_ms=2000, tpot_p99_ms=50") == {
        "ttft_p99_ms": 2000.0,
        "tpot_p99_ms": 50.0,
    }
    for text, message in (
        ("ttft_p99_ms", "is not KEY=VALUE"),
        ("ttft_p99_ms=fast", "ttft_p99_ms must be a number, got 'fast'"),
        ("ttft_p99_ms=1,ttft_p99_ms=2", "ttft_p99_ms is given twice"),
    ):
        with pytest.raises(InputError, match=message):
            parse_slo_text(text)
    for table, message in (
        ({"slo": {"ttft_p99_ms": 1}, "attainment": 1.0}, "attainment must be a fraction in"),
        ({"slo": {"ttft_p99_ms": 1}, "axis": "request_rate", "min": 0}, "min must be a number"),
        ({"slo": {"ttft_p99_ms": 1}, "max": True}, "max must be an integer >= 1"),
        ({"slo": "ttft_p99_ms=1"}, "slo must be a table of bounds"),
    ):
        with pytest.raises(InputError, match=message):
            parse_search(table, "search")
