"""sglang.bench_serving output lines of several releases map into schema `run` objects."""

from __future__ import annotations

import json

import jsonschema
import pytest

from bench.drivers.sglang_output import Invocation, classify_error, map_run, parse_output
from bench.errors import InputError

RELEASE_FILES = [
    "v0.4.9.post6-generate-details.jsonl",
    "v0.5.3-generate-details.jsonl",
    "v0.5.3-chat-details.jsonl",
    "v0.5.3-generate-summary.jsonl",
    "v0.5.3-generate-failures.jsonl",
    "v0.5.3-as-written-sharegpt.jsonl",
    "v0.5.23-generate-details.jsonl",
    "v0.5.23-chat-goodput-summary.jsonl",
]


@pytest.fixture(scope="module")
def run_validator(request):
    from tests.conftest import REPO

    schema = json.loads((REPO / "schema" / "result.schema.json").read_text())
    sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/run"}
    return jsonschema.Draft202012Validator(sub)


def load_line(fixtures, name):
    (line,) = parse_output((fixtures / "sglang" / name).read_text(), name)
    return line


def invocation(num_prompts=8, **kw):
    return Invocation(
        argv=("python", "-m", "sglang.bench_serving"),
        version="0.5.3",
        num_prompts=num_prompts,
        **kw,
    )


@pytest.mark.parametrize("name", RELEASE_FILES)
def test_every_release_maps_to_a_schema_valid_run(fixtures, run_validator, name):
    result = load_line(fixtures, name)
    run = map_run(result, invocation(num_prompts=6), "t")
    errors = sorted(run_validator.iter_errors(run), key=str)
    assert not errors, errors[0].message
    m = run["metrics"]
    assert m["requests_completed"] == result["completed"]
    assert m["total_output_tokens"] == result["total_output_tokens"]
    assert m["output_throughput_tok_s"] == pytest.approx(result["output_throughput"])
    assert m["request_throughput_rps"] == pytest.approx(result["request_throughput"])
    assert run["driver"]["name"] == "sglang.bench_serving"


def test_infinity_is_read_and_becomes_null(fixtures):
    text = (fixtures / "sglang" / "v0.5.3-generate-details.jsonl").read_text()
    assert '"request_rate": Infinity' in text
    run = map_run(parse_output(text)[0], invocation(), "t")
    assert run["metrics"]["requested_rate_rps"] is None
    assert run["workload"]["request_rate_rps"] is None


def test_details_give_full_stats_that_agree_with_sglangs_own_ttft_and_itl(fixtures):
    result = load_line(fixtures, "v0.5.3-generate-details.jsonl")
    m = map_run(result, invocation(), "t")["metrics"]
    assert m["ttft_ms"]["mean"] == pytest.approx(result["mean_ttft_ms"])
    assert m["ttft_ms"]["median"] == pytest.approx(result["median_ttft_ms"])
    assert m["itl_ms"]["mean"] == pytest.approx(result["mean_itl_ms"])
    assert m["itl_ms"]["count"] == 8 * 15
    assert set(m["e2e_ms"]) == {"mean", "median", "p90", "p99", "std", "min", "max", "count"}
    # E2E ends at the last chunk with text, before sglang's final [DONE] line.
    assert m["e2e_ms"]["mean"] <= result["mean_e2e_latency_ms"]
    # TPOT = (E2E - TTFT) / (N_out - 1) with N_out = 16 here.
    assert m["tpot_ms"]["mean"] == pytest.approx((m["e2e_ms"]["mean"] - m["ttft_ms"]["mean"]) / 15)


def test_summary_only_keeps_what_sglang_wrote_and_says_so(fixtures):
    result = load_line(fixtures, "v0.5.3-generate-summary.jsonl")
    run = map_run(result, invocation(num_prompts=6), "t")
    ttft = run["metrics"]["ttft_ms"]
    assert ttft == {
        "mean": result["mean_ttft_ms"],
        "median": result["median_ttft_ms"],
        "std": result["std_ttft_ms"],
        "p99": result["p99_ttft_ms"],
        "count": 6,
    }
    assert run["metrics"]["requested_rate_rps"] == 50.0
    assert run["workload"]["range_ratio"] == 0.5
    assert run["records"]["count"] is None
    assert "no per-request details" in run["notes"]


def test_failed_requests_are_counted_and_grouped(fixtures):
    result = load_line(fixtures, "v0.5.3-generate-failures.jsonl")
    m = map_run(result, invocation(num_prompts=6), "t")["metrics"]
    assert m["requests_sent"] == 6
    assert m["requests_failed"] == 6 - result["completed"] > 0
    assert m["failures"] == {"http_5xx": m["requests_failed"]}
    assert m["ttft_ms"]["count"] == result["completed"]


def test_chat_backend_output_counts_are_the_requested_length(fixtures):
    run = map_run(load_line(fixtures, "v0.5.3-chat-details.jsonl"), invocation(4), "t")
    assert run["workload"]["api"] == "chat"
    assert run["metrics"]["token_counts"]["output_source"] == "requested"
    assert run["workload"]["ignore_eos"] is False


def test_generate_backend_output_counts_come_from_the_server(fixtures):
    run = map_run(load_line(fixtures, "v0.5.3-generate-details.jsonl"), invocation(), "t")
    assert run["metrics"]["token_counts"] == {
        "input_source": "requested",
        "output_source": "server_usage",
        "requests_with_mismatch": None,
        "output_tokens_mismatch": None,
        "input_tokens_mismatch": None,
    }


def test_as_written_line_is_sharegpt_and_ignores_the_random_lengths(fixtures):
    result = load_line(fixtures, "v0.5.3-as-written-sharegpt.jsonl")
    run = map_run(result, invocation(200, as_written=True), "t")
    w = run["workload"]
    assert (w["dataset"], w["input_len"], w["output_len"]) == ("sharegpt", None, None)
    assert w["num_prompts"] == 12  # the tiny file holds 12 usable conversations, not 200
    assert run["driver"]["as_written"] is True
    assert run["metrics"]["token_counts"]["input_source"] == "tokenizer"


def test_newer_release_keys_goodput_and_total_throughput(fixtures):
    result = load_line(fixtures, "v0.5.23-chat-goodput-summary.jsonl")
    m = map_run(result, invocation(6), "t")["metrics"]
    assert m["total_throughput_tok_s"] == pytest.approx(result["total_throughput"])
    assert m["goodput_rps"] == result["request_goodput"]
    assert m["slo"] == {"ttft_ms": 5.0, "tpot_ms": 1.0, "e2e_ms": None}
    assert m["ttft_ms"]["p90"] == result["p90_ttft_ms"]  # newer releases write p90


def test_newer_release_details_agree_with_its_own_summary(fixtures):
    result = load_line(fixtures, "v0.5.23-generate-details.jsonl")
    m = map_run(result, invocation(), "t")["metrics"]
    assert m["ttft_ms"]["mean"] == pytest.approx(result["mean_ttft_ms"])
    assert m["ttft_ms"]["p90"] == pytest.approx(result["p90_ttft_ms"])
    assert m["itl_ms"]["median"] == pytest.approx(result["median_itl_ms"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no result line"),
        ("{not json}\n", "line 1 is not JSON"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ('{"duration": 1}\n', "lacks completed"),
    ],
)
def test_bad_output_is_one_clear_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_output(text, "out.jsonl")


def test_every_appended_line_is_read_in_order(fixtures):
    a = (fixtures / "sglang" / "v0.5.3-generate-summary.jsonl").read_text()
    b = (fixtures / "sglang" / "v0.5.3-chat-details.jsonl").read_text()
    lines = parse_output(a + b)
    assert [line["backend"] for line in lines] == ["sglang", "sglang-oai-chat"]


def test_details_that_disagree_with_the_summary_are_rejected(fixtures):
    result = load_line(fixtures, "v0.5.3-generate-details.jsonl")
    result["completed"] = 7
    with pytest.raises(InputError, match="disagrees"):
        map_run(result, invocation(), "t")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("Internal Server Error", "http_5xx"),
        ("Bad Request", "http_4xx"),
        ("Traceback ...\nasyncio.exceptions.TimeoutError\n", "timeout"),
        ("Traceback ...\naiohttp.client_exceptions.ClientPayloadError: x", "stream_cut"),
        ("Traceback ...\naiohttp.client_exceptions.ClientConnectorError: x", "connection"),
        ("Traceback ...\njson.decoder.JSONDecodeError: Expecting value", "malformed"),
        ("something else", "other"),
    ],
)
def test_error_strings_are_classified(error, kind):
    assert classify_error(error) == kind
