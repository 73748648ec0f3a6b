"""The `long-context` profile against the simulator: TTFT rises with the input length as the
simulator's model says (linear weights, quadratic attention, chunked prefill), and the
report draws TTFT against input length with the prefill roofline beside it.

The simulator runs 20x faster than real time: the profile's 36 requests (up to 32,256
tokens each) take seconds. Its ground truth holds when each first token was written, so the
server-side TTFT is compared with the model exactly (to the pacing of one timer), and the
client's TTFT must rise with length as well.
"""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.sim import model, tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.profile import load_profile
from bench.sim.server import SimServer
from bench.validate import validate_file
from bench.workload.profile import load_profile as load_workloads
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

SPEED = 20.0
MODEL_DIR = FIXTURES / "memory" / "model" / "qwen2-7b-instruct"  # config.json: the roofline's


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("long")
    ground = work / "truth.jsonl"
    out = work / "results" / "long.json"
    with SimServer(SimConfig(speed=SPEED, ground_truth=ground)) as sim:
        code = main([
            "run", "--profile", "long-context", "--base-url", sim.base_url,
            "--tokenizer", str(tokenizer_dir()), "--model-dir", str(MODEL_DIR),
            "--out", str(out),
        ])  # fmt: skip
    assert code == 0
    truth = [json.loads(line) for line in ground.read_text().splitlines()]
    return out, truth


def test_the_profile_spans_the_native_window_and_fits_in_it():
    runs = load_workloads("long-context").latency
    assert [r.workload.input_len for r in runs] == [1024, 2048, 4096, 8192, 16384, 32256]
    context = load_profile().model.context_length
    assert all(r.workload.input_len + r.workload.output_len < context for r in runs)
    assert {r.workload.api for r in runs} == {"completions"}  # N_in is the prompt, exactly
    assert len({r.workload.seed for r in runs}) == 6  # no prompt starts like another's


def test_ttft_rises_with_length_as_the_model_says(long_run):
    out, truth = long_run
    sim_profile = load_profile()
    assert {t["cached_tokens"] for t in truth} == {0}  # every prompt prefilled whole
    by_length: dict[int, list[float]] = {}
    for t in truth:
        server_ttft_s = (t["token_ns"][0] - t["arrival_ns"]) / 1e9 * SPEED
        by_length.setdefault(t["prompt_tokens"], []).append(server_ttft_s)
    assert sorted(by_length) == [1024, 2048, 4096, 8192, 16384, 32256]
    for length, ttfts in by_length.items():
        expected, _tpot = model.single_request_latency(sim_profile, length, 256)
        # the simulator paces each step against the clock; a busy host wakes it late
        assert min(ttfts) == pytest.approx(expected, rel=0.02, abs=0.005 * SPEED)
    doc = load_document(out)
    medians = [r["metrics"]["ttft_ms"]["median"] for r in doc["measurements"]["latency"]]
    for length, median in zip(sorted(by_length), medians, strict=True):
        expected, _tpot = model.single_request_latency(sim_profile, length, 256)
        assert median >= 0.98 * expected * 1000 / SPEED  # no step ends before its deadline
    # and the client sees the rise: at least half the modelled one (a busy host can delay a
    # short run's replies by milliseconds, not by the ~230 ms the 32K prefill adds)
    short, long = (model.single_request_latency(sim_profile, n, 256)[0] for n in (1024, 32256))
    assert medians[-1] - medians[0] > 0.5 * (long - short) * 1000 / SPEED
    inputs = [r["metrics"]["total_input_tokens"] / 5 for r in doc["measurements"]["latency"]]
    assert inputs == [1024, 2048, 4096, 8192, 16384, 32256]  # the server's own N_in


def test_the_document_validates(long_run):
    out, _ = long_run
    findings = validate_file(out)
    assert [f"{f.pointer}: {f.message}" for f in findings if f.level == "error"] == []


def test_the_report_draws_ttft_against_input_length_with_the_roofline(long_run, tmp_path):
    out, _ = long_run
    report = tmp_path / "REPORT.md"
    assert main(["report", "--results", str(out.parent), "--out", str(report)]) == 0
    plots = sorted(p.name for p in (tmp_path / "REPORT-plots").iterdir())
    (name,) = [p for p in plots if p.startswith("ttft-vs-input-")]
    png = (tmp_path / "REPORT-plots" / name).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    text = report.read_text()
    assert f"REPORT-plots/{name}" in text
    assert "with the prefill roofline" in text and "TTFT_min" in text
    assert "divided by the simulator's speed 20" in text  # as its durations were


def test_the_yarn_profile_is_refused_by_a_32k_server_and_says_why(tmp_path, capsys):
    # 64K and 128K need YaRN at launch; the simulator models the native 32K window, so
    # every request is refused as SGLang refuses it, and the run records the refusals
    out = tmp_path / "yarn.json"
    with SimServer(SimConfig(speed=50.0)) as sim:
        code = main([
            "run", "--profile", "long-context-yarn", "--base-url", sim.base_url,
            "--tokenizer", str(tokenizer_dir()), "--out", str(out),
        ])  # fmt: skip
    assert code == 1
    assert "6 requests failed; the document records them" in capsys.readouterr().err
    runs = load_document(out)["measurements"]["latency"]
    assert [r["metrics"]["failures"] for r in runs] == [{"http_4xx": 3}, {"http_4xx": 3}]
    line = (tmp_path / "yarn.records" / "latency-128k.jsonl").read_text().splitlines()[-1]
    assert "The input (130560 tokens) is longer than the model's context length" in line
    assert [f for f in validate_file(out) if f.level == "error"] == []
