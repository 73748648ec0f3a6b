"""`--driver sglang`: a real sglang.bench_serving 0.5.3 run against the simulator maps
into a run (and a document) that validates; the article's command runs as written."""

from __future__ import annotations

import json

import jsonschema
import pytest

from bench.cli import main
from bench.client.target import Target, resolve_target
from bench.drivers.sglang_bench_serving import run_sglang
from bench.errors import BenchError
from bench.jsonio import load_document
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.validate import validate_file
from bench.workload.spec import ThroughputWorkload
from tests.conftest import FIXTURES, REPO

SHAREGPT = FIXTURES / "sglang" / "sharegpt_tiny.json"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    truth = tmp_path_factory.mktemp("sim") / "truth.jsonl"
    with SimServer(SimConfig(speed=50.0, ground_truth=truth)) as server:
        yield server


def run_schema():
    schema = json.loads((REPO / "schema" / "result.schema.json").read_text())
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/run"}


def truth_lines(sim):
    return [json.loads(line) for line in sim.ground_truth.read_text().splitlines()]


def test_real_sglang_run_maps_into_a_valid_run_with_exact_token_counts(sim, tmp_path):
    before = len(truth_lines(sim))
    workload = ThroughputWorkload(
        api="generate",
        input_len=64,
        output_len=16,
        num_prompts=8,
        max_concurrency=4,
        warmup=1,
        timeout_s=60,
    )
    target = resolve_target(sim.base_url, tokenizer=tokenizer_dir())
    run = run_sglang(workload, target, tmp_path / "out.jsonl", "tp")
    jsonschema.validate(run, run_schema())
    assert run["driver"]["name"] == "sglang.bench_serving"
    assert run["driver"]["version"] == "0.5.3"
    assert "--warmup-requests" in run["driver"]["command"]
    m = run["metrics"]
    assert (m["requests_sent"], m["requests_completed"], m["requests_failed"]) == (8, 8, 0)
    assert m["total_output_tokens"] == 8 * 16
    assert m["ttft_ms"]["count"] == 8 and m["itl_ms"]["count"] == 8 * 15
    # What the simulator really sent: the warm-up (16 tokens capped at 32) + 8 measured.
    sent = truth_lines(sim)[before:]
    assert len(sent) == 9
    assert sorted(t["completion_tokens"] for t in sent)[-8:] == [16] * 8
    assert (tmp_path / "out.jsonl.log").is_file()


def test_bench_throughput_driver_sglang_writes_the_run(sim, tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(
        ["throughput", "--driver", "sglang", "--base-url", sim.base_url,
         "--tokenizer", str(tokenizer_dir()), "--num-prompts", "6", "--input-len", "32",
         "--output-len", "8", "--max-concurrency", "3", "--out", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = json.loads(out.read_text())
    jsonschema.validate(run, run_schema())
    assert run["workload"]["api"] == "chat" and run["workload"]["dataset"] == "random-ids"
    assert run["records"]["path"].endswith("run.sglang.jsonl")


def test_seed_as_written_profile_runs_the_article_command_and_validates(sim, tmp_path):
    out = tmp_path / "doc.json"
    code = main(
        ["run", "--profile", "seed-as-written", "--base-url", sim.base_url,
         "--dataset-path", str(SHAREGPT), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert [f"{f.level}: {f.message}" for f in validate_file(out)] == []
    doc = load_document(out)
    (run,) = doc["measurements"]["throughput"]
    assert run["driver"]["as_written"] is True
    command = run["driver"]["command"]
    assert command[3:13] == [
        "--backend", "sglang", "--base-url", sim.base_url, "--num-prompts", "200",
        "--random-input-len", "512", "--random-output-len", "256",
    ]  # fmt: skip
    assert "--dataset-name" not in command
    assert run["workload"]["dataset"] == "sharegpt"
    assert run["workload"]["num_prompts"] == 12  # what the local file held, not 200
    assert "ShareGPT" in run["notes"]
    assert any("sglang.bench_serving" in c for c in doc["provenance"]["commands"])
    # the kit cannot hook bench_serving's warm-up: the server's deltas run from before it
    # starts to after it ends, its one warm-up request inside, and they say so
    server = run["server_metrics"]
    assert server["window"] == "whole_run" and server["reason"] is None
    assert server["requests"] == run["metrics"]["requests_completed"] + 1
    assert server["generation_tokens"] > run["metrics"]["total_output_tokens"]
    assert any("warm-up" in note for note in server["notes"])
    assert run["telemetry"]["energy_j"] is None  # no npu-smi here, and no kit-clock window


def test_a_dead_server_fails_with_the_log_named(tmp_path):
    workload = ThroughputWorkload(num_prompts=2, input_len=8, output_len=4, timeout_s=30)
    dead = Target(
        base_url="http://127.0.0.1:9", model="m", tokenizer=tokenizer_dir(), self_report=None
    )
    with pytest.raises(BenchError, match=r"exited with code \d+ .*out\.jsonl\.log"):
        run_sglang(workload, dead, tmp_path / "out.jsonl", "tp")
