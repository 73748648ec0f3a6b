"""`bench run` with telemetry, end to end: the simulator's /metrics and its stand-in npu-smi;
a constant npu-smi; a server with no /metrics and no npu-smi at all.

What holds against the simulator, exactly: the server's token and request deltas over the
measured window equal the client's totals (warm-up outside the window), every document
validates, and one whose server figures are altered does not.
"""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.jsonio import load_document, sha256_file
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.validate import validate_file
from tests.fake_npu_smi import one_910b3, write_fake_npu_smi
from tests.integration.openai_stub import StubServer

pytestmark = pytest.mark.slow

PROFILE = """
[profile]
name = "telemetry"
description = "a throughput run with warm-up and a latency run"

[[throughput]]
name = "tp"
input_len = 64
output_len = 16
num_prompts = 24
max_concurrency = 6
warmup = 3
timeout_s = 30

[[latency]]
name = "lat"
input_len = 32
output_len = 8
runs = 2
warmup = 1
timeout_s = 30
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    npu_dir = tmp_path_factory.mktemp("npu")
    with SimServer(SimConfig(speed=20.0, npu_smi_dir=npu_dir)) as server:
        yield server, npu_dir / "npu-smi"


def run_profile(tmp_path, base_url, *extra):
    profile = tmp_path / "telemetry.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "doc.json"
    code = main(["run", "--profile", str(profile), "--base-url", base_url, "--out", str(out),
                 "--telemetry-interval", "0.1", *extra])  # fmt: skip
    assert code == 0
    return out


def errors(path):
    return [f"{f.pointer}: {f.message}" for f in validate_file(path) if f.level == "error"]


def runs(doc):
    return [*doc["measurements"]["throughput"], *doc["measurements"]["latency"]]


def test_the_simulators_counters_agree_with_the_client_exactly(sim, tmp_path):
    server, npu_smi = sim
    out = run_profile(tmp_path, server.base_url, "--npu-smi", str(npu_smi))
    assert errors(out) == []
    doc = load_document(out)
    for run in runs(doc):
        m, s = run["metrics"], run["server_metrics"]
        assert (s["engine"], s["window"], s["reason"]) == ("sglang", "measured", None)
        assert s["prompt_tokens"] == m["total_input_tokens"]
        assert s["generation_tokens"] == m["total_output_tokens"]
        assert s["requests"] == m["requests_completed"] == m["requests_sent"]
        # nothing aborted and no prefix cache: SGLang prints neither counter, so neither is known
        assert s["aborted_requests"] is None and s["cache_hit_rate"] is None
        assert 0 < s["mean_ttft_ms"] <= m["ttft_ms"]["mean"] + 1.0
        t = run["telemetry"]
        assert (t["source"], t["reason"], t["npus"][0]["name"]) == ("simulated", None, "910B3")
        assert t["sample_count"] >= 2  # one before the window opens, one after it closes
        # the stand-in npu-smi is a Python script: on a loaded machine a read can take longer
        # than 3 intervals, and then the energy is unknown and says why
        if t["energy_j"] is None:
            assert "gap" in t["energy_note"] and t["max_gap_s"] > 0.3
        else:
            assert t["energy_per_output_token_j"] == t["energy_j"] / m["total_output_tokens"]
        for section in ("telemetry", "server_metrics"):
            file = out.parent / run[section]["timeline"]["path"]
            assert sha256_file(file) == run[section]["timeline"]["sha256"]
    tp = doc["measurements"]["throughput"][0]
    assert tp["server_metrics"]["peak_running_requests"] <= 6
    # the altered document fails, naming the figure
    tp["server_metrics"]["generation_tokens"] += 5
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    assert any("server_metrics/generation_tokens" in e for e in errors(altered))


def test_a_constant_npu_smi_is_recorded_exactly_and_energy_is_power_times_window(sim, tmp_path):
    server, _ = sim
    exe = write_fake_npu_smi(tmp_path / "bin", {"info": one_910b3(power="250.0", hbm="58626")})
    out = run_profile(tmp_path, server.base_url, "--npu-smi", str(exe))
    assert errors(out) == []
    for run in runs(load_document(out)):
        t = run["telemetry"]
        assert t["source"] == "npu-smi" and t["gaps"] == 0
        assert (t["power_w"]["min"], t["power_w"]["max"]) == (250.0, 250.0)
        assert (t["hbm_used_mib"]["min"], t["hbm_used_mib"]["max"]) == (58626.0, 58626.0)
        assert t["npus"] == [{"index": 0, "name": "910B3", "hbm_capacity_mib": 65536.0}]
        assert t["energy_j"] == pytest.approx(250.0 * run["metrics"]["duration_s"], rel=1e-9)


def test_no_npu_smi_and_no_metrics_leave_the_run_valid_with_the_reasons(tmp_path):
    with StubServer("sglang", usage_prompt_tokens=None) as stub:
        out = run_profile(
            tmp_path, stub.base_url, "--tokenizer", str(tokenizer_dir()),
            "--npu-smi", str(tmp_path / "no-such-npu-smi"),
        )  # fmt: skip
    assert errors(out) == []
    for run in runs(load_document(out)):
        assert run["metrics"]["requests_failed"] == 0
        assert "not an executable file" in run["telemetry"]["reason"]
        assert run["telemetry"]["energy_j"] is None and run["telemetry"]["sample_count"] == 0
        assert "answered HTTP 404" in run["server_metrics"]["reason"]
        assert "--enable-metrics" in run["server_metrics"]["reason"]


def test_no_telemetry_leaves_both_sections_out(sim, tmp_path):
    server, _ = sim
    out = run_profile(tmp_path, server.base_url, "--no-telemetry")
    doc = load_document(out)
    assert all("telemetry" not in r and "server_metrics" not in r for r in runs(doc))
    assert "--no-telemetry" in doc["provenance"]["commands"][0]


def test_a_metrics_page_of_another_program_is_named_not_used(tmp_path):
    import http.server
    import threading

    from bench.telemetry.attach import server_metrics_of
    from bench.telemetry.session import RunTelemetry, TelemetryOptions

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        options = TelemetryOptions(npu_smi=str(tmp_path / "none"), interval_s=0.05)
        session = RunTelemetry(options, f"http://127.0.0.1:{server.server_port}", tmp_path, "r")
        session.start()
        session.window_started()
        session.window_ended()
        session.close()
    finally:
        server.shutdown()
        server.server_close()
    section = server_metrics_of(session)
    assert section["engine"] is None and section["prompt_tokens"] is None
    assert "has none of SGLang's, vLLM's or llama.cpp's metric names" in section["reason"]
