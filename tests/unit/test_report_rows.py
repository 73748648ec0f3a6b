"""Ranking, grouping and baseline matching: pure functions on tiny hand-made documents."""

from __future__ import annotations

from pathlib import Path

from bench.report.results import ResultEntry
from bench.report.rows import (
    Row,
    baseline_differences,
    group_settings,
    match_baseline,
    rank_of,
    rows_of,
)


def entry(rid: str, kind: str, runs: dict, *, baseline: bool = False) -> ResultEntry:
    doc = {
        "kind": kind,
        "model": {"id": "Qwen/Qwen2-7B-Instruct"},
        "system": {"product": "Atlas 800T A2", "accelerator": {"name": "910B3", "count": 1}},
        "software": {"engine": {"name": "sglang"}},
        "measurements": runs,
    }
    return ResultEntry(rid, Path(f"{rid}.json"), f"{rid}.json", "0" * 64, doc, (), baseline)


def tput(out_tok_s: float, name: str = "t", **workload) -> dict:
    wl = {"dataset": "random", "input_len": 512, "output_len": 256, "num_prompts": 200}
    return {
        "name": name,
        "workload": {**wl, **workload},
        "metrics": {"output_throughput_tok_s": out_tok_s},
    }


def lat(tpot_median: float, name: str = "l") -> dict:
    return {
        "name": name,
        "workload": {"dataset": "random", "input_len": 4096, "output_len": 512, "num_prompts": 10},
        "metrics": {"tpot_ms": {"median": tpot_median}},
    }


def ranked_ids(entries: list[ResultEntry]) -> list[tuple[str, int | None]]:
    (setting,) = group_settings(entries)
    return [(r.entry.rid, rank_of(setting, r)) for r in setting.rows]


def test_measured_throughput_ranks_highest_first_and_other_kinds_follow_unranked():
    entries = [
        entry("R1", "simulated", {"throughput": [tput(9000)]}),
        entry("R2", "measured", {"throughput": [tput(1000)]}),
        entry("R3", "reported", {"throughput": [tput(3622)]}),
        entry("R4", "measured", {"throughput": [tput(2000)]}),
    ]
    assert ranked_ids(entries) == [("R4", 1), ("R2", 2), ("R3", None), ("R1", None)]


def test_latency_ranks_lowest_tpot_first():
    entries = [
        entry("R1", "measured", {"latency": [lat(20.0)]}),
        entry("R2", "measured", {"latency": [lat(17.5)]}),
    ]
    assert ranked_ids(entries) == [("R2", 1), ("R1", 2)]


def test_ties_keep_the_order_of_the_files_numerically():
    entries = [entry(f"R{i}", "measured", {"throughput": [tput(1000)]}) for i in (10, 2)]
    assert ranked_ids(entries) == [("R2", 1), ("R10", 2)]


def test_different_workloads_are_different_settings():
    entries = [
        entry("R1", "measured", {"throughput": [tput(1000), tput(500, "t2", max_concurrency=8)]})
    ]
    assert len(group_settings(entries)) == 2


def test_a_single_value_is_its_own_median_and_percentiles():
    row = Row(
        entry("R1", "reported", {}), "latency", {"metrics": {"tpot_ms": {"mean": 17.5, "count": 1}}}
    )
    assert row.metric("tpot_ms", "median") == 17.5
    assert row.metric("tpot_ms", "p99") == 17.5
    many = Row(
        entry("R1", "reported", {}), "latency", {"metrics": {"tpot_ms": {"mean": 17.5, "count": 2}}}
    )
    assert many.metric("tpot_ms", "median") is None


def _article() -> list[Row]:
    run = tput(3622.4, "bench-serving", dataset="sharegpt", input_len=None, output_len=None)
    run["workload_as_described"] = {"dataset": "random", "input_len": 512, "output_len": 256}
    return rows_of(entry("R1", "reported", {"throughput": [run]}, baseline=True))


def test_a_run_matches_the_article_as_described_when_its_command_ran_something_else():
    (base,) = _article()
    (row,) = rows_of(entry("R2", "measured", {"throughput": [tput(1000)]}))
    assert match_baseline(row, [base]) is base
    assert baseline_differences(row, base) == ([], "as described")


def test_differences_are_named_against_the_closer_workload():
    (base,) = _article()
    (row,) = rows_of(entry("R2", "measured", {"throughput": [tput(1000, max_concurrency=8)]}))
    assert baseline_differences(row, base) == (["max_concurrency"], "as described")
    (asrun,) = rows_of(
        entry(
            "R3",
            "measured",
            {"throughput": [tput(1, dataset="sharegpt", input_len=None, output_len=None)]},
        )
    )
    assert baseline_differences(asrun, base) == ([], "as run")


def test_no_baseline_run_of_the_same_kind_means_no_match():
    (base,) = _article()
    (row,) = rows_of(entry("R2", "measured", {"latency": [lat(17.0)]}))
    assert match_baseline(row, [base]) is None
