"""Records beside a document: their hash must match, and so must the metrics they give."""

from __future__ import annotations

import json

import pytest

from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.validate import validate_file
from bench.validate.records_check import records_issues
from tests.conftest import FIXTURES

MS = 1_000_000
T = "/measurements/throughput/0"


def record(index: int, send_ms: int, first_ms: int, gap_ms: int, tokens: int) -> Record:
    """A completed request: `tokens` one-token chunks, the first at first_ms, then every gap."""
    chunks = tuple((first_ms + i * gap_ms) * MS for i in range(tokens))
    return Record(
        index=index,
        rid=f"r{index}",
        warmup=False,
        send_ns=send_ms * MS,
        done_ns=chunks[-1],
        chunk_ns=chunks,
        chunk_tokens=(1,) * tokens,
        chunk_tokens_source="server_usage",
        prompt_tokens_server=10,
        completion_tokens_server=tokens,
    )


@pytest.fixture
def document(tmp_path):
    """A document whose throughput run is two requests, with its records beside it."""
    records = [record(0, 0, 100, 10, 5), record(1, 0, 120, 20, 5)]
    with RecordWriter(tmp_path / "run.jsonl") as writer:
        for r in records:
            writer.write(r)
        digest = writer.sha256
    doc = json.loads((FIXTURES / "results" / "simulated_valid.json").read_text())
    run = doc["measurements"]["throughput"][0]
    run["records"] = {"path": "run.jsonl", "sha256": digest, "count": 2,
                      "format": "bench-records-v1"}  # fmt: skip
    run["metrics"] = run_metrics(records)
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    return path, doc


def test_the_recomputation_agrees_with_hand_numbers(document):
    _, doc = document
    metrics = doc["measurements"]["throughput"][0]["metrics"]
    # TTFT 100 and 120 ms; E2E 140 and 200 ms; window 0..200 ms; 20 + 10 tokens.
    assert metrics["ttft_ms"]["mean"] == 110.0 and metrics["e2e_ms"]["max"] == 200.0
    assert metrics["duration_s"] == 0.2 and metrics["total_throughput_tok_s"] == 150.0


def test_records_that_match_give_no_finding(document):
    path, doc = document
    assert records_issues(doc, path.parent) == []
    about_records = [
        f for f in validate_file(path) if f.pointer.startswith(f"{T}/") and f.level == "error"
    ]
    assert [f for f in about_records if "recomputed" in f.message or "/records" in f.pointer] == []


def test_delivery_figures_that_differ_from_the_records_are_errors(document):
    path, doc = document
    delivery = doc["measurements"]["throughput"][0]["metrics"]["delivery"]
    assert delivery["single_read_requests"] == 0 and delivery["tokens_per_read"]["max"] == 1
    delivery["single_read_requests"] = 1  # claims a reply came whole: the records say none did
    delivery["tokens_per_read"]["max"] = 5.0
    path.write_text(json.dumps(doc))
    found = {f.pointer: f.level for f in validate_file(path) if "recomputed" in f.message}
    assert found == {
        f"{T}/metrics/delivery/single_read_requests": "error",
        f"{T}/metrics/delivery/tokens_per_read/max": "error",
    }


def test_a_metric_that_differs_from_its_records_is_an_error(document):
    path, doc = document
    doc["measurements"]["throughput"][0]["metrics"]["ttft_ms"]["p90"] = 150.0
    doc["measurements"]["throughput"][0]["metrics"]["total_output_tokens"] = 11
    path.write_text(json.dumps(doc))
    found = {f.pointer: f for f in validate_file(path) if "recomputed" in f.message}
    assert set(found) == {f"{T}/metrics/ttft_ms/p90", f"{T}/metrics/total_output_tokens"}
    assert found[f"{T}/metrics/total_output_tokens"].message == (
        "total_output_tokens 11 differs from 10 recomputed from the run's records"
    )
    assert {f.level for f in found.values()} == {"error"}


def test_records_changed_after_the_fact_fail_the_hash(document):
    path, _ = document
    with (path.parent / "run.jsonl").open("a") as f:
        f.write("\n")
    found = [f for f in validate_file(path) if f.pointer == f"{T}/records/sha256"]
    assert found and found[0].level == "error" and "different sha256" in found[0].message


def test_records_this_version_cannot_read_are_one_warning(document):
    path, doc = document
    (path.parent / "run.jsonl").write_text('{"index": 0}\n')
    doc["measurements"]["throughput"][0]["records"]["sha256"] = None
    path.write_text(json.dumps(doc))
    found = [f for f in validate_file(path) if f.pointer == f"{T}/records/path"]
    assert found and found[0].level == "warning"
    assert found[0].message.startswith("records cannot be read by this kit version")


def test_records_that_are_not_beside_the_document_are_not_required(document):
    path, _ = document
    (path.parent / "run.jsonl").unlink()
    assert [f for f in validate_file(path) if f.pointer.startswith(f"{T}/records")] == []
