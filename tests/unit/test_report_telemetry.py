"""The report's telemetry section and timeline plots, from documents with telemetry."""

from __future__ import annotations

import json

from bench.report.build import build_report
from bench.report.telemetry import cross_check
from tests.telemetry_docs import document, server_metrics


def test_a_result_with_telemetry_gets_its_table_and_timeline(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "sim.json").write_text(json.dumps(document()), encoding="utf-8")
    report = build_report(results, tmp_path / "REPORT.md")
    md = report.markdown
    assert "## Telemetry: the NPU and the server's own counters" in md
    row = next(line for line in md.splitlines() if "throughput-512-256 (throughput 1)" in line)
    assert "| simulated " in row and "| 300.0 " in row and "| 58,626 " in row
    assert "sglang: input 102,400 = client; output 51,200 = client" in row
    timelines = [p for p in report.plots if p.name.startswith("timeline-")]
    assert len(timelines) == 1 and timelines[0].png.startswith(b"\x89PNG")
    assert f"REPORT-plots/{timelines[0].name}" in md
    assert "every figure is simulated" in timelines[0].caption


def test_no_telemetry_no_section(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    doc = document()
    run = doc["measurements"]["throughput"][0]
    del run["telemetry"], run["server_metrics"]
    (results / "sim.json").write_text(json.dumps(doc), encoding="utf-8")
    report = build_report(results, tmp_path / "REPORT.md")
    assert "## Telemetry" not in report.markdown
    assert not any(p.name.startswith("timeline-") for p in report.plots)


def test_cross_check_in_words():
    metrics = {"total_input_tokens": 100, "total_output_tokens": 50}
    assert cross_check({"metrics": metrics}) == "not scraped"
    agree = {"metrics": metrics, "server_metrics": server_metrics(prompt_tokens=100)}
    assert cross_check(agree).startswith("sglang: input 100 = client; output 51,200 vs client 50")
    reason = {"metrics": metrics, "server_metrics": server_metrics(reason="HTTP 404")}
    assert cross_check(reason) == "not compared: HTTP 404"
    llama = server_metrics(engine="llama.cpp", prompt_tokens=None, window="whole_run")
    assert cross_check({"metrics": metrics, "server_metrics": llama}) == (
        "llama.cpp: input: not exposed; output 51,200 vs client 50 (+51,150) (warm-up inside)"
    )
