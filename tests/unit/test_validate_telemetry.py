"""The validator's telemetry checks: a consistent document passes; each altered figure fails
with a message naming it. Documents are the committed fixtures with hand-made sections."""

from __future__ import annotations

import copy

import pytest

from bench.validate import validate_document
from bench.validate.checks_telemetry import CHECKS, STRUCTURE_CHECKS
from tests.conftest import REPO
from tests.telemetry_docs import document, telemetry


def errors(doc: dict) -> list[str]:
    return [f"{f.pointer}: {f.message}" for f in validate_document(doc) if f.level == "error"]


RUN = "/measurements/throughput/0"


def test_a_consistent_document_with_telemetry_is_valid():
    assert errors(document()) == []


def test_a_run_without_telemetry_is_still_valid():
    doc = document()
    del doc["measurements"]["throughput"][0]["telemetry"]
    del doc["measurements"]["throughput"][0]["server_metrics"]
    assert errors(doc) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("prompt_tokens", 102399, "fewer than the client's total_input_tokens 102400"),
        ("generation_tokens", 51201, "1 more than the client's total_output_tokens 51200, and "
         "the client recorded no failed request"),
        ("requests", 201, "the server counted 201 finished requests"),
        ("mean_ttft_ms", 4300.0, "the client's mean TTFT 4200 ms is below the server's own 4300"),
    ],
)  # fmt: skip
def test_altered_server_figures_fail(key, value, expected):
    found = errors(document(**{key: value}))
    assert any(expected in line for line in found), found


def test_failed_requests_explain_a_bounded_excess():
    doc = document(generation_tokens=51200 + 256)
    m = doc["measurements"]["throughput"][0]["metrics"]
    assert m["requests_completed"] == 200
    doc2 = copy.deepcopy(doc)
    # one request the client did not finish: the server may count up to its 256 output tokens
    m2 = doc2["measurements"]["throughput"][0]["metrics"]
    m2.update(requests_sent=201, requests_failed=1, failures={"stream_cut": 1})
    assert not any("server_metrics" in line for line in errors(doc2))
    doc2["measurements"]["throughput"][0]["server_metrics"]["generation_tokens"] = 51200 + 257
    assert any("more than 1 failed requests can explain (256)" in e for e in errors(doc2))


def test_a_whole_run_window_may_count_more_never_less():
    assert errors(document(window="whole_run", prompt_tokens=110000, requests=210)) == []
    assert any("fewer" in e for e in errors(document(window="whole_run", prompt_tokens=1)))


def test_a_section_with_a_reason_is_not_compared():
    assert errors(document(reason="GET /metrics answered HTTP 404", prompt_tokens=None)) == []


def test_power_above_the_rating_and_hbm_above_capacity_fail():
    doc = document()
    doc["measurements"]["throughput"][0]["telemetry"] = telemetry(power=300_000.0)  # mW as W
    assert any("peak power 300000 W over 1 NPU(s) is above 500 W" in e for e in errors(doc))
    doc["measurements"]["throughput"][0]["telemetry"] = telemetry(hbm=70000.0)
    assert any(
        "HBM in use 70000 MiB is above the NPU's capacity 65536 MiB" in e for e in errors(doc)
    )


def test_energy_per_token_is_checked():
    doc = document()
    doc["measurements"]["throughput"][0]["telemetry"]["energy_per_output_token_j"] = 1.0
    assert any("energy per output token 1 J is not energy_j" in e for e in errors(doc))


def test_a_measured_document_cannot_carry_simulated_telemetry():
    found = errors(document("measured", prompt_tokens=None, generation_tokens=None, requests=None))
    assert f"{RUN}/telemetry/source: a measured run carries simulated NPU telemetry" in " ".join(
        found
    )


def test_every_check_is_in_the_docs():
    docs = (REPO / "docs" / "telemetry.md").read_text(encoding="utf-8")
    for check in (*CHECKS, *STRUCTURE_CHECKS):
        assert f"`{check.__name__}`" in docs, check.__name__
