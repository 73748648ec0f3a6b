"""The load generator and the latency probe against every OpenAI-compatible stream shape.

Each shape is served by a tiny purpose-built server (tests/integration/openai_stub.py)
that knows exactly how many tokens it sent, so counts are checked with zero tolerance.
"""

from __future__ import annotations

import pytest

from bench.client.latency import run_latency
from bench.client.loadgen import run_throughput
from bench.client.target import resolve_target
from bench.records import read_records
from bench.sim import tokenizer_dir
from bench.workload.spec import LatencyWorkload, ThroughputWorkload
from tests.integration.openai_stub import StubServer

COMPLETE = [
    "sglang",
    "no_usage",
    "usage_on_last_choice",
    "continuous_usage",
    "no_done",
    "keepalive",
    "multi_token",
    "reasoning",
    "json_body",
]
FAILING = {
    "http_429": "http_4xx",
    "http_500": "http_5xx",
    "cut": "stream_cut",
    "malformed": "malformed",
    "error_event": "server_error",
    "never": "timeout",
    "stall": "timeout",
}


def throughput(stub, tmp_path, api="chat", timeout=5.0):
    workload = ThroughputWorkload(
        api=api,
        input_len=16,
        output_len=6,
        num_prompts=3,
        max_concurrency=3,
        warmup=0,
        timeout_s=timeout,
    )
    target = resolve_target(stub.base_url, tokenizer=tokenizer_dir())
    run = run_throughput(workload, target, tmp_path / "records.jsonl", progress=False)
    return run, read_records(tmp_path / "records.jsonl")


@pytest.mark.parametrize("shape", COMPLETE)
@pytest.mark.parametrize("api", ["chat", "completions"])
def test_every_complete_shape_is_measured_exactly(shape, api, tmp_path):
    with StubServer(shape, usage_prompt_tokens=None) as stub:
        run, records = throughput(stub, tmp_path, api=api)
    assert run["metrics"]["requests_completed"] == 3, run["metrics"]["failures"]
    for r in records:
        sent = stub.sent_tokens[r.response_id]
        assert sent == 6
        assert sum(r.chunk_tokens) == sent
        assert r.completion_tokens_client == sent
        assert r.chunk_ns[0] > r.send_ns  # TTFT at the first content, never the role chunk
        if shape == "no_usage":
            assert r.completion_tokens_server is None
        else:
            assert r.completion_tokens_server == sent
    expected_chunks = {"multi_token": 2, "json_body": 1}.get(shape, 6)
    assert all(len(r.chunk_ns) == expected_chunks for r in records)
    source = "tokenizer" if shape == "no_usage" else "server_usage"
    assert run["metrics"]["token_counts"]["output_source"] == source
    assert run["metrics"]["token_counts"]["requests_with_mismatch"] in (0, None)


def test_the_request_carries_an_id_header_and_asks_for_usage(tmp_path):
    with StubServer("sglang") as stub:
        _run, records = throughput(stub, tmp_path)
    assert sorted(s["rid"] for s in stub.seen) == sorted(r.rid for r in records)
    assert all(s["body"]["stream_options"] == {"include_usage": True} for s in stub.seen)
    assert all(r.response_id in stub.sent_tokens for r in records)


def test_the_api_key_comes_from_openai_api_key_and_goes_to_every_request(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    with StubServer("sglang") as stub:
        throughput(stub, tmp_path)
        latency(stub, tmp_path)
    assert len(stub.seen) == 3 + 3  # three throughput requests, one warm-up and two runs
    assert {s["authorization"] for s in stub.seen} == {"Bearer sk-test-123"}
    assert set(stub.models_authorization) == {"Bearer sk-test-123"}


def test_without_openai_api_key_the_load_generator_sends_no_authorization(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with StubServer("sglang") as stub:
        throughput(stub, tmp_path)
    assert {s["authorization"] for s in stub.seen} == {None}


@pytest.mark.parametrize(("shape", "kind"), sorted(FAILING.items()))
def test_every_failing_shape_is_a_failure_of_its_kind(shape, kind, tmp_path):
    with StubServer(shape) as stub:
        run, records = throughput(stub, tmp_path, timeout=1.0)
    metrics = run["metrics"]
    assert metrics["requests_failed"] == 3 and metrics["failures"] == {kind: 3}
    assert all(r.error_kind == kind and r.error for r in records)
    if kind == "timeout":
        assert all(r.done_ns - r.send_ns < 3e9 for r in records)  # bounded by the timeout


def latency(stub, tmp_path, timeout=5.0):
    workload = LatencyWorkload(input_len=32, output_len=6, runs=2, warmup=1, timeout_s=timeout)
    target = resolve_target(stub.base_url, tokenizer=tokenizer_dir())
    run = run_latency(workload, target, tmp_path / "latency.jsonl")
    return run, read_records(tmp_path / "latency.jsonl")


@pytest.mark.parametrize("shape", ["sglang", "no_usage", "usage_on_last_choice", "multi_token"])
def test_the_openai_sdk_probe_measures_complete_shapes(shape, tmp_path):
    with StubServer(shape) as stub:
        run, records = latency(stub, tmp_path)
    assert run["driver"]["name"] == "bench.latency"
    assert run["metrics"]["requests_completed"] == 2
    assert [r.warmup for r in records] == [True, False, False]
    for r in records:
        assert sum(r.chunk_tokens) == r.completion_tokens_client == 6
        assert r.submit_ns <= r.send_ns < r.chunk_ns[0]
    assert all(s["body"].get("ignore_eos") is True for s in stub.seen)
    assert all(s["body"]["stream_options"] == {"include_usage": True} for s in stub.seen)


@pytest.mark.parametrize(
    ("shape", "kind"), [("http_500", "http_5xx"), ("cut", "stream_cut"), ("never", "timeout")]
)
def test_the_openai_sdk_probe_records_failures(shape, kind, tmp_path):
    with StubServer(shape) as stub:
        run, records = latency(stub, tmp_path, timeout=1.0)
    assert run["metrics"]["failures"] == {kind: 2}
    assert all(r.error_kind == kind for r in records)
