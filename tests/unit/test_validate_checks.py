"""Each consistency check catches the one number it is about.

Every case starts from a valid fixture, changes one or two numbers, and expects a finding
at the changed figure, from the named check, through `validate_document` (so taking a
check out of the validator fails its case).
"""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest

from bench.validate import (
    CONSISTENCY_CHECKS,
    checks_bounds,
    checks_cache,
    checks_delivery,
    checks_document,
    checks_latency,
    checks_memory,
    checks_parallel,
    checks_sanity,
    checks_throughput,
    validate_document,
)
from bench.validate.findings import resolve
from tests.conftest import FIXTURES
from tests.unit.report_docs import delivered_in_bursts

SIM_T = "/measurements/throughput/0"
SIM_L = "/measurements/latency/0"
MEM = "/measurements/memory"


@cache
def _fixture(name: str) -> str:
    return (FIXTURES / "results" / f"{name}.json").read_text(encoding="utf-8")


def fixture(name: str) -> dict:
    return json.loads(_fixture(name))


def changed(name: str, changes: dict[str, object]) -> dict:
    """The fixture with each JSON pointer set to its new value."""
    doc = fixture(name)
    for ptr, value in changes.items():
        parent_ptr, _, key = ptr.rpartition("/")
        found, parent = resolve(doc, parent_ptr)
        assert found, ptr
        if isinstance(parent, list):
            parent[int(key)] = value
        else:
            parent[key] = value
    return doc


def times(name: str, ptr: str, factor: float) -> object:
    return resolve(fixture(name), ptr)[1] * factor


# A run's delivery figures when every reply streamed token by token.
NO_SINGLE_READS = {
    "single_read_requests": 0,
    "tokens_per_read": {"mean": 1.0, "median": 1.0, "p90": 1.0, "p99": 1.0, "std": 0.0,
                        "min": 1.0, "max": 1.0, "count": 5120},
}  # fmt: skip

# A multi-turn run's turns: the fixture's 200 requests and 102,400 prompt tokens in two.
TURNS = [
    {"turn": t, "requests_completed": 100, "ttft_ms": None, "input_tokens": 51200,
     "cached_prompt_tokens": 0 if t == 0 else 25600, "prefix_cache_hit_rate": t * 0.5}
    for t in (0, 1)
]  # fmt: skip
STATS = {"mean": 1.0, "median": 1.0, "p90": 1.0, "p99": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}

# (check, fixture, changes, pointer of the expected finding, words in its message)
CASES = [
    (checks_throughput.check_request_counts, "simulated_valid",
     {f"{SIM_T}/metrics/requests_failed": 3}, f"{SIM_T}/metrics/requests_sent",
     "!= completed 200 + failed 3"),
    (checks_throughput.check_request_counts, "measured_valid",
     {f"{SIM_T}/metrics/failures": {"http_5xx": 1, "timeout": 1}}, f"{SIM_T}/metrics/failures",
     "sum to 2"),
    (checks_throughput.check_total_is_input_plus_output, "simulated_valid",
     {f"{SIM_T}/metrics/total_throughput_tok_s": 6144.0 * 1.3},
     f"{SIM_T}/metrics/total_throughput_tok_s", "!= input 4096 + output 2048"),
    (checks_throughput.check_throughput_matches_tokens, "simulated_valid",
     {f"{SIM_T}/metrics/output_throughput_tok_s": 2048.0 * 1.3},
     f"{SIM_T}/metrics/output_throughput_tok_s", "!= 51200 / 25 s = 2048"),
    (checks_throughput.check_throughput_matches_tokens, "simulated_valid",
     {f"{SIM_T}/metrics/request_throughput_rps": 10.4},
     f"{SIM_T}/metrics/request_throughput_rps", "!= 200 / 25 s = 8"),
    (checks_throughput.check_tokens_per_request_match_workload, "simulated_valid",
     {f"{SIM_T}/workload/output_len": 300}, f"{SIM_T}/metrics/output_throughput_tok_s",
     "256.0 tokens per request; workload (random) asks for exactly 300"),
    (checks_throughput.check_tokens_per_request_match_workload, "simulated_valid",
     {f"{SIM_T}/workload/input_len": 1024}, f"{SIM_T}/metrics/input_throughput_tok_s",
     "512.0 tokens per request"),
    (checks_throughput.check_request_rate, "measured_valid",
     {f"{SIM_T}/metrics/achieved_rate_rps": 2.8}, f"{SIM_T}/metrics/achieved_rate_rps",
     "off the requested 4 req/s"),
    (checks_throughput.check_request_rate, "measured_valid",
     {f"{SIM_T}/metrics/requested_rate_rps": 5.0}, f"{SIM_T}/metrics/requested_rate_rps",
     "differs from the workload's request_rate_rps 4"),
    (checks_throughput.check_derived_metrics, "simulated_valid",
     {f"{SIM_T}/metrics/interactivity_tok_s": 30.0}, f"{SIM_T}/metrics/interactivity_tok_s",
     "1000 / median TPOT 44.6 ms"),
    (checks_throughput.check_derived_metrics, "simulated_valid",
     {f"{SIM_T}/metrics/output_throughput_per_npu_tok_s": 1024.0},
     f"{SIM_T}/metrics/output_throughput_per_npu_tok_s", "/ 1 accelerator(s) = 2048"),
    (checks_throughput.check_derived_metrics, "simulated_valid",
     {f"{SIM_T}/metrics/goodput_rps": 9.0}, f"{SIM_T}/metrics/goodput_rps",
     "exceeds request throughput 8"),
    (checks_latency.check_percentiles_ordered, "simulated_valid",
     {f"{SIM_T}/metrics/ttft_ms/p99": 4000.0}, f"{SIM_T}/metrics/ttft_ms/p99",
     "p99 4000 is below p90 7610"),
    (checks_latency.check_percentiles_ordered, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/mean": 25.0}, f"{SIM_L}/metrics/tpot_ms/mean",
     "mean 25 is above max 19.81"),
    (checks_latency.check_percentiles_ordered, "simulated_valid",
     {f"{SIM_L}/metrics/ttft_ms/std": 20.0}, f"{SIM_L}/metrics/ttft_ms/std",
     "exceeds half the range"),
    (checks_latency.check_latency_decomposition, "simulated_valid",
     {f"{SIM_T}/metrics/e2e_ms/mean": 15675.0 * 1.3}, f"{SIM_T}/metrics/e2e_ms/mean",
     "!= mean TTFT 4200 + mean TPOT 45 x (256 - 1) = 15675 ms"),
    (checks_latency.check_latency_order_and_window, "simulated_valid",
     {f"{SIM_T}/metrics/e2e_ms/max": 31000.0}, f"{SIM_T}/metrics/e2e_ms/max",
     "exceeds the measured window 25 s"),
    (checks_latency.check_latency_order_and_window, "simulated_valid",
     {f"{SIM_L}/metrics/e2e_ms/min": 400.0}, f"{SIM_L}/metrics/e2e_ms/min",
     "is below TTFT min 411"),
    (checks_latency.check_latency_order_and_window, "simulated_valid",
     {f"{SIM_L}/metrics/e2e_ms/count": 12}, f"{SIM_L}/metrics/e2e_ms/count",
     "only 10 completed"),
    (checks_latency.check_littles_law, "simulated_valid",
     {f"{SIM_T}/metrics/achieved_concurrency": 125.4 * 1.3},
     f"{SIM_T}/metrics/achieved_concurrency", "Little's law"),
    (checks_latency.check_littles_law, "simulated_valid",
     {f"{SIM_L}/workload/max_concurrency": 1, f"{SIM_L}/metrics/achieved_concurrency": 1.5,
      f"{SIM_L}/metrics/e2e_ms/mean": 15600.0},
     f"{SIM_L}/metrics/achieved_concurrency", "exceeds max_concurrency 1"),
    (checks_memory.check_memory_within_capacity, "simulated_valid",
     {f"{MEM}/kv_cache_gib": 52.0}, f"{MEM}/kv_cache_gib",
     "= 66.19 GiB exceeds the 64 GiB HBM of one accelerator"),
    (checks_memory.check_memory_within_capacity, "simulated_valid",
     {f"{MEM}/per_rank/0/weights_gib": 30.0}, f"{MEM}/per_rank/0/kv_cache_gib",
     "exceeds the 64 GiB HBM"),
    (checks_memory.check_memory_within_fraction, "simulated_valid",
     {f"{MEM}/kv_cache_gib": 44.5}, f"{MEM}/kv_cache_gib",
     "exceeds mem_fraction_static 0.9 x 64 GiB = 57.6 GiB"),
    (checks_memory.check_kv_cache_matches_tokens, "simulated_valid",
     {f"{MEM}/kv_tokens": 700000}, f"{MEM}/kv_cache_gib", "700000 tokens x 57344 bytes"),
    (checks_memory.check_kv_cache_matches_tokens, "simulated_valid",
     {f"{MEM}/kv_bytes_per_token": 114688}, f"{MEM}/kv_bytes_per_token", "!= 57344"),
    (checks_memory.check_weights_match_parameters, "simulated_valid",
     {f"{MEM}/weights_gib": 18.0}, f"{MEM}/weights_gib", "parameters x dtype bytes / TP"),
    (checks_memory.check_npu_smi_agrees, "measured_valid",
     {f"{MEM}/npus/0/hbm_used_mib": 40000}, f"{MEM}/npus/0/hbm_used_mib",
     "less than weights + KV cache"),
    (checks_memory.check_npu_smi_agrees, "measured_valid",
     {f"{MEM}/npus/0/hbm_total_mib": 32768}, f"{MEM}/npus/0/hbm_total_mib",
     "!= HBM capacity 64 GiB"),
    (checks_memory.check_reconciliation_arithmetic, "measured_valid",
     {f"{MEM}/reconciliation/0/diff_gib": 1.2}, f"{MEM}/reconciliation/0/diff_gib",
     "!= measured 14.31 - expected 14.19"),
    (checks_parallel.check_npu_count_matches_server, "measured_valid",
     {"/system/accelerator/count": 8}, "/system/accelerator/count",
     "8 accelerators counted; the server's self-report implies 1"),
    (checks_parallel.check_npu_count_matches_server, "measured_valid",
     {"/server/self_report/dp_size": 2}, "/system/accelerator/count",
     "the server's self-report implies 2"),
    (checks_parallel.check_rank_weights, "simulated_valid",
     {f"{MEM}/per_rank": [{"rank": 0, "weights_gib": 14.19}, {"rank": 1, "weights_gib": 7.1}]},
     f"{MEM}/per_rank/1/weights_gib", "rank 1 holds 7.1 GiB of weights"),
    (checks_parallel.check_ranks_and_nodes, "simulated_valid",
     {f"{MEM}/per_rank": [{"rank": 0, "weights_gib": 14.19},
                          {"rank": 0, "dp_rank": 1, "weights_gib": 14.19}]},
     f"{MEM}/per_rank", "the log shows 2 ranks; the server's parallel sizes give 1 NPUs"),
    (checks_parallel.check_ranks_and_nodes, "measured_valid",
     {"/server/args/nnodes": 2,
      "/system/nodes": [{"node_rank": 0, "source": "a.json", "accelerator": {"count": 8}},
                        {"node_rank": 2, "source": "b.json", "accelerator": {"count": 8}}]},
     "/system/nodes/1/node_rank", "node rank 2 of a server that spans 2 nodes"),
    (checks_bounds.check_output_throughput_below_compute_ceiling, "simulated_valid",
     {f"{SIM_T}/metrics/output_throughput_tok_s": 2048000.0},
     f"{SIM_T}/metrics/output_throughput_tok_s", "above the physical ceiling 656546 tok/s"),
    (checks_bounds.check_latencies_above_floor, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/mean": 0.0195}, f"{SIM_L}/metrics/tpot_ms/mean",
     "below the physical floor 0.237"),
    (checks_bounds.check_latencies_above_floor, "simulated_valid",
     {f"{SIM_L}/metrics/ttft_ms/min": 0}, f"{SIM_L}/metrics/ttft_ms/min",
     "must be above zero"),
    (checks_bounds.check_latencies_above_floor, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/min": -0.5}, f"{SIM_L}/metrics/tpot_ms/min",
     "cannot be negative"),
    (checks_delivery.check_zero_tpot_has_delivery_evidence, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/median": 0, f"{SIM_L}/metrics/tpot_ms/min": 0},
     f"{SIM_L}/metrics/tpot_ms/median", "gives no delivery figures"),
    (checks_delivery.check_zero_tpot_has_delivery_evidence, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/min": 0, f"{SIM_L}/metrics/delivery": NO_SINGLE_READS},
     f"{SIM_L}/metrics/tpot_ms/min", "single_read_requests is 0"),
    (checks_delivery.check_zero_tpot_has_delivery_evidence, "simulated_valid",
     {f"{SIM_L}/metrics/delivery": {**NO_SINGLE_READS, "single_read_requests": 3}},
     f"{SIM_L}/metrics/delivery/single_read_requests", "has a TPOT of 0"),
    (checks_delivery.check_zero_tpot_has_delivery_evidence, "simulated_valid",
     {f"{SIM_L}/metrics/tpot_ms/min": 0,
      f"{SIM_L}/metrics/delivery": {**NO_SINGLE_READS, "single_read_requests": 11}},
     f"{SIM_L}/metrics/delivery/single_read_requests", "more than the 10 TPOT applies to"),
    (checks_cache.check_prefix_cache_figures, "simulated_valid",
     {f"{SIM_T}/metrics/cached_prompt_tokens": 200000},
     f"{SIM_T}/metrics/cached_prompt_tokens", "exceeds total_input_tokens 102400"),
    (checks_cache.check_prefix_cache_figures, "simulated_valid",
     {f"{SIM_T}/metrics/cached_prompt_tokens": 51200,
      f"{SIM_T}/metrics/prefix_cache_hit_rate": 0.9},
     f"{SIM_T}/metrics/prefix_cache_hit_rate",
     "!= cached_prompt_tokens / total_input_tokens = 0.5"),
    (checks_cache.check_prefix_cache_figures, "simulated_valid",
     {f"{SIM_T}/metrics/cached_prompt_tokens": 25600,
      f"{SIM_T}/metrics/per_turn": [TURNS[0], {**TURNS[1], "requests_completed": 99}]},
     f"{SIM_T}/metrics/per_turn", "requests_completed sum to 199"),
    (checks_cache.check_prefix_cache_figures, "simulated_valid",
     {f"{SIM_T}/metrics/cached_prompt_tokens": 25600,
      f"{SIM_T}/metrics/per_turn": [TURNS[0], {**TURNS[1], "cached_prompt_tokens": 60000}]},
     f"{SIM_T}/metrics/per_turn/1/cached_prompt_tokens", "turn 1: cached_prompt_tokens 60000"),
    (checks_cache.check_prefix_cache_figures, "simulated_valid",
     {f"{SIM_T}/metrics/ttft_first_of_group_ms": {**STATS, "count": 10},
      f"{SIM_T}/metrics/ttft_rest_of_group_ms": {**STATS, "count": 180}},
     f"{SIM_T}/metrics/ttft_first_of_group_ms/count", "+ rest 180 != TTFT count 200"),
    (checks_document.check_described_workload_matches, "simulated_valid",
     {f"{SIM_T}/workload_as_described": {"dataset": "random", "input_len": 1024,
                                         "num_prompts": 200}},
     f"{SIM_T}/workload_as_described/input_len", "described input_len 1024, but the commands"),
    (checks_sanity.check_sanity_counts, "measured_valid",
     {"/sanity": {"questions": 20, "correct": 17, "accuracy": 0.9, "min_accuracy": 0.8}},
     "/sanity/accuracy", "accuracy 0.9 but correct / questions = 17 / 20 = 0.85"),
    (checks_sanity.check_sanity_accuracy, "simulated_valid",
     {"/sanity": {"questions": 20, "correct": 1, "accuracy": 0.05, "min_accuracy": 0.8}},
     "/sanity/accuracy", "the server's answers were wrong: 1 of 20 sanity questions"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "name", "changes", "where", "words"),
    CASES,
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)],
)
def test_check_finds_the_changed_number(check, name, changes, where, words):
    doc = changed(name, changes)
    assert any(i.pointer == where and words in i.message for i in check(doc)), check(doc)
    found = [f for f in validate_document(doc) if f.pointer == where and words in f.message]
    assert found, [f"{f.pointer}: {f.message}" for f in validate_document(doc)]
    assert {f.level for f in found} == {"error"}


def test_a_request_whose_tokens_arrived_in_one_read_may_have_a_zero_tpot():
    doc = changed("simulated_valid", {f"{SIM_L}/metrics/tpot_ms/min": 0})
    assert checks_bounds.check_latencies_above_floor(doc) == []
    # a document without delivery figures (an older kit's) keeps the old rule: no finding
    assert [f for f in validate_document(doc) if "tpot_ms" in f.pointer] == []


def test_a_zero_median_tpot_of_replies_that_arrived_whole_is_a_warning_not_an_error():
    # as the user's run, where 15 of 24 replies came in one read: the median TPOT is 0
    doc = delivered_in_bursts(fixture("simulated_valid"), 6)
    findings = [f for f in validate_document(doc) if "/metrics/" in f.pointer]
    assert [(f.level, f.pointer) for f in findings] == [
        ("warning", f"{SIM_L}/metrics/tpot_ms/median")
    ]
    assert findings[0].message == (
        "tpot_ms median is 0 ms: 6 of 10 replies arrived in one read (a read brought 2.5 tokens "
        "on average, 512 at most), so TPOT and ITL here describe how the replies were delivered "
        "(in one piece), not how fast they were generated"
    )


def test_a_zero_median_tpot_without_delivery_figures_stays_an_error():
    doc = delivered_in_bursts(fixture("simulated_valid"), 6)
    del doc["measurements"]["latency"][0]["metrics"]["delivery"]
    found = [(f.level, f.pointer) for f in validate_document(doc) if "/metrics/" in f.pointer]
    assert found == [("error", f"{SIM_L}/metrics/tpot_ms/median")]


def test_a_zero_median_itl_alone_is_no_finding():
    # reads that carry several chunks (a fast server, a client reading late) zero most ITL
    # gaps without any reply arriving whole: that was never an error, and is not warned of
    doc = changed("simulated_valid", {f"{SIM_L}/metrics/itl_ms/median": 0,
                                      f"{SIM_L}/metrics/itl_ms/min": 0,
                                      f"{SIM_L}/metrics/delivery": NO_SINGLE_READS})  # fmt: skip
    assert [f for f in validate_document(doc) if "/metrics/" in f.pointer] == []


def test_the_tpot_floor_is_judged_on_the_replies_that_did_not_arrive_whole():
    # 9 of 10 replies whole: a mean of 0.1 ms is 1 ms over the one streamed reply
    doc = delivered_in_bursts(fixture("simulated_valid"), 9)
    doc["measurements"]["latency"][0]["metrics"]["tpot_ms"]["mean"] = 0.1
    assert checks_bounds.check_latencies_above_floor(doc) == []
    doc["measurements"]["latency"][0]["metrics"]["tpot_ms"]["mean"] = 0.01  # 0.1 ms: too fast
    (issue,) = checks_bounds.check_latencies_above_floor(doc)
    assert "mean TPOT 0.1 ms (of the replies that did not arrive in one read)" in issue.message


def test_every_consistency_check_has_a_case():
    covered = {case[0] for case in CASES}
    missing = [c.__name__ for c in CONSISTENCY_CHECKS if c not in covered]
    assert not missing


def test_consistent_prefix_cache_figures_are_no_finding():
    doc = changed("simulated_valid", {
        f"{SIM_T}/metrics/cached_prompt_tokens": 25600,
        f"{SIM_T}/metrics/prefix_cache_hit_rate": 0.25,
        f"{SIM_T}/metrics/per_turn": TURNS,
        f"{SIM_T}/metrics/ttft_first_of_group_ms": {**STATS, "count": 20},
        f"{SIM_T}/metrics/ttft_rest_of_group_ms": {**STATS, "count": 180},
    })  # fmt: skip
    assert checks_cache.check_prefix_cache_figures(doc) == []
    assert [f for f in validate_document(doc) if f.level == "error"] == []


@pytest.mark.parametrize("name", ["simulated_valid", "measured_valid"])
def test_the_fixtures_have_no_errors(name):
    findings = validate_document(fixture(name))
    assert [f for f in findings if f.level == "error"] == []


@pytest.mark.parametrize("name", ["simulated_valid", "measured_valid"])
def test_the_unchanged_fixtures_pass_every_check(name):
    doc = fixture(name)
    assert [(c.__name__, c(doc)) for c in CONSISTENCY_CHECKS if c(doc)] == []


def test_a_throughput_figure_30_percent_off_fails_and_points_at_it():
    where = f"{SIM_T}/metrics/output_throughput_tok_s"
    doc = changed("measured_valid", {where: times("measured_valid", where, 1.3)})
    errors = [f for f in validate_document(doc) if f.level == "error"]
    assert where in {f.pointer for f in errors}


def test_reported_documents_get_warnings_not_errors():
    doc = changed("simulated_valid", {"/kind": "reported", f"{MEM}/kv_cache_gib": 52.0})
    doc["citation"] = {"title": "A publication"}
    findings = validate_document(doc)
    memory = [f for f in findings if f.pointer == f"{MEM}/kv_cache_gib"]
    assert memory and {f.level for f in memory} == {"warning"}
    assert [f for f in findings if f.level == "error"] == []


def test_schema_violations_stay_errors_in_reported_documents():
    doc = changed("simulated_valid", {"/kind": "reported", f"{SIM_T}/metrics/duration_s": -1})
    doc["citation"] = {"title": "A publication"}
    errors = [f for f in validate_document(doc) if f.level == "error"]
    assert [f.pointer for f in errors] == [f"{SIM_T}/metrics/duration_s"]


def test_measured_runs_need_every_statistic_but_reported_runs_do_not():
    doc = fixture("simulated_valid")
    del doc["measurements"]["latency"][0]["metrics"]["tpot_ms"]["p90"]
    errors = [f for f in validate_document(doc) if f.level == "error"]
    assert [(f.pointer, f.message) for f in errors] == [
        (f"{SIM_L}/metrics/tpot_ms", "'p90' is a required property")
    ]
    doc["kind"] = "reported"
    doc["citation"] = {"title": "A publication"}
    assert [f for f in validate_document(doc) if f.level == "error"] == []


def test_measured_runs_need_their_window_and_counts():
    doc = fixture("measured_valid")
    del doc["measurements"]["throughput"][0]["metrics"]["duration_s"]
    messages = [f.message for f in validate_document(doc) if f.level == "error"]
    assert messages == ["'duration_s' is a required property"]


def test_a_measured_document_from_the_simulator_is_an_error():
    doc = changed("measured_valid", {"/server/self_report/simulated": True})
    found = [f for f in validate_document(doc) if f.pointer == "/kind"]
    assert found and found[0].level == "error" and "simulator" in found[0].message


def test_run_names_are_unique():
    doc = changed("simulated_valid", {f"{SIM_L}/name": "throughput-512-256"})
    assert any(f.pointer == f"{SIM_L}/name" and f.level == "error" for f in validate_document(doc))


def test_citation_figures_must_point_at_a_value():
    doc = changed("simulated_valid", {"/kind": "reported"})
    doc["citation"] = {
        "title": "A publication",
        "figures": [
            {"pointer": f"{SIM_T}/metrics/request_throughput_rps", "as_stated": "8 req/s"},
            {"pointer": f"{SIM_T}/metrics/no_such_figure", "as_stated": "?"},
        ],
    }
    bad = [f for f in validate_document(doc) if f.level == "error"]
    assert [f.pointer for f in bad] == ["/citation/figures/1/pointer"]


def test_runs_without_a_records_hash_get_a_warning():
    doc = changed("simulated_valid", {f"{SIM_T}/records": None})
    found = [f for f in validate_document(doc) if f.pointer == f"{SIM_T}/records"]
    assert [f.level for f in found] == ["warning"]


def test_a_figure_is_never_changed_by_validation():
    doc = fixture("simulated_valid")
    before = copy.deepcopy(doc)
    validate_document(doc)
    assert doc == before


def test_schema_findings_point_at_the_deepest_cause_in_one_short_line():
    doc = changed(
        "simulated_valid",
        {f"{SIM_T}/metrics/ttft_ms/min": -1.0, f"{SIM_L}/metrics/e2e_ms": "fast"},
    )
    errors = {(f.pointer, f.message) for f in validate_document(doc) if f.level == "error"}
    assert (f"{SIM_T}/metrics/ttft_ms/min", "-1.0 is less than the minimum of 0") in errors
    assert (f"{SIM_L}/metrics/e2e_ms", "expected object, got string") in errors


def test_a_request_sent_slightly_early_is_a_negative_schedule_lag_not_an_error():
    doc = changed("simulated_valid", {f"{SIM_T}/metrics/schedule_lag_ms/min": -0.9})
    assert [f for f in validate_document(doc) if f.level == "error"] == []


def test_a_simulator_run_faster_than_real_time_scales_the_physical_bounds():
    tpot = f"{SIM_L}/metrics/tpot_ms/mean"

    def below_floor(doc):
        return any(
            f.pointer == tpot and "physical floor" in f.message for f in validate_document(doc)
        )

    doc = changed("simulated_valid", {tpot: 0.0195})
    assert below_floor(doc)
    doc["server"]["self_report"]["simulator"] = {"speed": 1000}
    assert not below_floor(doc)
    doc["kind"] = "measured"  # only a simulated document's clock may run fast
    doc["server"]["self_report"]["simulated"] = False
    assert below_floor(doc)


def test_without_the_memory_section_s_expectations_the_model_s_architecture_is_used():
    doc = changed("simulated_valid", {f"{MEM}/kv_tokens": 700000, f"{MEM}/weights_gib": 18.0})
    for key in ("expected_kv_bytes_per_token", "expected_weights_gib"):
        del doc["measurements"]["memory"][key]
    messages = {f.pointer: f.message for f in validate_document(doc)}
    assert "700000 tokens x 57344 bytes" in messages[f"{MEM}/kv_cache_gib"]
    assert "= 14.1852 GiB" in messages[f"{MEM}/weights_gib"]


def test_the_memory_section_s_expectation_wins_over_a_naive_architecture_formula():
    # An MLA model (e.g. DeepSeek) caches far fewer bytes per token than 2 x kv_heads x head_dim.
    tokens = 800000
    doc = changed(
        "simulated_valid",
        {
            f"{MEM}/expected_kv_bytes_per_token": 17280,
            f"{MEM}/kv_bytes_per_token": 17280,
            f"{MEM}/kv_cache_gib": round(tokens * 17280 / 2**30, 2),
        },
    )
    assert not [f for f in validate_document(doc) if f.pointer.startswith(f"{MEM}/kv")]
