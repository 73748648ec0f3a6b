"""Replies delivered whole, end to end: a server that flushes each reply in one write gives a
valid document whose zero TPOT is explained, not refused.

The simulator's burst fault holds every stream and writes it in one piece at the end, as a
buffering server or gateway does. `bench run` measures it, `bench validate` accepts the
document (exit 0) with a warning naming how many replies arrived in one read, and
`bench report` shows that warning beside the TPOT figure. (The same against a real engine
behind a buffering proxy: tests/integration/test_real_engine.py.)
"""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.records import read_records
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig
from bench.sim.server import SimServer

T = "/measurements/throughput/0/metrics"
L = "/measurements/latency/0/metrics"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """`bench run --profile quick` against a simulator that bursts every stream."""
    work = tmp_path_factory.mktemp("burst")
    results = work / "results"
    config = SimConfig(
        speed=50.0,
        log_file=work / "sim.log",
        ground_truth=work / "truth.jsonl",
        faults=FaultConfig(burst_rate=1.0),
    )
    with SimServer(config) as sim:
        code = main(
            ["run", "--profile", "quick", "--base-url", sim.base_url, "--out",
             str(results / "burst.json"), "--server-log", str(config.log_file)]
        )  # fmt: skip
    assert code == 0
    return results / "burst.json", work / "truth.jsonl"


def test_every_reply_is_recorded_as_delivered_in_one_read(measured):
    out, truth_path = measured
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    assert {t["fault"] for t in truth} == {"burst"}
    assert all(len(set(t["token_ns"])) == 1 for t in truth)  # one write per reply
    doc = load_document(out)
    (tp,) = doc["measurements"]["throughput"]
    (lat,) = doc["measurements"]["latency"]
    for run, replies in ((tp, 24), (lat, 3)):
        metrics = run["metrics"]
        assert metrics["requests_completed"] == replies
        assert metrics["delivery"]["single_read_requests"] == replies
        assert metrics["delivery"]["tokens_per_read"]["median"] == 32  # every reply in one read
        assert metrics["tpot_ms"]["median"] == metrics["tpot_ms"]["max"] == 0
        assert metrics["itl_ms"]["max"] == 0
        assert metrics["interactivity_tok_s"] is None  # 1000 / 0 is no figure
        records = [r for r in read_records(out.parent / run["records"]["path"]) if not r.warmup]
        assert all(r.chunk_ns[0] == r.chunk_ns[-1] for r in records)  # TTFT = E2E


def test_bench_validate_accepts_it_and_says_what_tpot_describes(measured, capsys):
    out, _ = measured
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert " error " not in printed
    for where, n in ((T, 24), (L, 3)):
        assert (
            f"warning {where}/tpot_ms/median: tpot_ms median is 0 ms: {n} of {n} replies arrived "
            f"in one read (a read brought 32 tokens on average, 32 at most), so TPOT and ITL here "
            f"describe how the replies were delivered (in one piece)"
        ) in printed


def test_bench_report_shows_the_warning_beside_the_figure(measured, capsys):
    out, _ = measured
    report = out.parent / "REPORT.md"
    assert main(["report", "--results", str(out.parent), "--out", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    summary, against = text.split("## Against the article")
    for section in (summary, against):
        rows = [line for line in section.splitlines() if "| simulated ×50 speed |" in line]
        flagged = [line for line in rows if "| 0.00 ⚠ " in line]  # TPOT p50 (and p99)
        assert len(flagged) == 2  # the throughput run and the latency run
    for name, n in (("throughput-128-32", 24), ("latency-256-32", 3)):
        assert (
            f"⚠ R2 {name}, TPOT p50 ms: tpot\\_ms median is 0 ms: {n} of {n} replies arrived in "
            "one read"
        ) in text
