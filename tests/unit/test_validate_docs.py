"""docs/results.md's `result` section says what the validator does, with its real numbers."""

from __future__ import annotations

import re

import pytest

from bench.validate import CONSISTENCY_CHECKS, validate_file
from bench.validate import tolerances as tol
from tests.conftest import REPO

# docs/results.md table row label for each consistency check.
ROWS = {
    "check_request_counts": "request counts",
    "check_total_is_input_plus_output": "total throughput",
    "check_throughput_matches_tokens": "throughput vs tokens",
    "check_tokens_per_request_match_workload": "tokens per request",
    "check_percentiles_ordered": "percentiles",
    "check_latency_decomposition": "TTFT/TPOT/E2E",
    "check_latency_order_and_window": "latency order",
    "check_littles_law": "Little's law",
    "check_request_rate": "request rate",
    "check_derived_metrics": "derived metrics",
    "check_memory_within_capacity": "memory capacity",
    "check_memory_within_fraction": "mem_fraction_static",
    "check_kv_cache_matches_tokens": "KV cache size",
    "check_weights_match_parameters": "weights size",
    "check_npu_smi_agrees": "npu-smi",
    "check_npu_count_matches_server": "NPU count",
    "check_rank_weights": "rank weights",
    "check_ranks_and_nodes": "ranks and nodes",
    "check_reconciliation_arithmetic": "reconciliation",
    "check_output_throughput_below_compute_ceiling": "Output throughput ceiling",
    "check_latencies_above_floor": "TPOT floor",
    "check_described_workload_matches": "described workload",
    "check_zero_tpot_has_delivery_evidence": "delivery",
    "check_prefix_cache_figures": "prefix cache",
    "check_sanity_counts": "sanity counts",
    "check_sanity_accuracy": "sanity accuracy",
}


@pytest.fixture(scope="module")
def section() -> str:
    text = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- section:result -->(.*)<!-- /section:result -->", text, re.S)
    assert match
    return match.group(1)


def test_every_check_is_in_the_docs(section):
    assert sorted(ROWS) == sorted(c.__name__ for c in CONSISTENCY_CHECKS)
    for label in ROWS.values():
        assert f"| {label} |" in section or f"**{label}**" in section, label


def test_the_documented_tolerances_are_the_code_s(section):
    assert f"| {tol.ARITHMETIC_REL:.0%} |" in section
    assert f"| {tol.DECOMPOSITION_REL:.0%} (exact only" in section
    assert f"| {tol.LITTLE_REL:.0%} |" in section
    assert f"{tol.RATE_REL:.0%} + {tol.RATE_SIGMAS:.0f}/sqrt(n)" in section
    assert f"+{tol.WEIGHTS_OVER_REL:.0%} / -{tol.WEIGHTS_UNDER_REL:.0%}" in section
    assert f"+{tol.CHAT_TEMPLATE_TOKENS} tokens of chat template" in section
    assert f"{tol.PEAK_FLOPS_CEILING / 1e15:.0f} PFLOP/s / (2 x parameters)" in section
    assert f"{tol.HBM_BANDWIDTH_CEILING_B_S / 1e12:.0f} TB/s x " in section
    assert f"{tol.SPECULATIVE_TOKENS_CEILING} tokens per step" in section
    assert f"smallest plausible\n  model ({tol.MIN_PLAUSIBLE_PARAMETERS:.0e}".replace(
        "e+0", "e"
    ) in (section)


def test_the_example_warnings_are_what_validate_prints(section):
    printed = {
        f"{f.level} {f.pointer}: {f.message}"
        for f in validate_file(REPO / "results/reference/article-qwen2-7b-atlas800t-sglang.json")
    }
    examples = [line[5:] for line in section.splitlines() if line.startswith("...: ")]
    assert len(examples) == 3
    for example in examples:
        assert example in printed


def test_the_discrepancy_count_is_current(section):
    import json

    doc = json.loads(
        (REPO / "results/reference/article-qwen2-7b-atlas800t-sglang.json").read_text()
    )
    assert f"and {len(doc['citation']['discrepancies'])} discrepancies" in section
