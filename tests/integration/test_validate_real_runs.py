"""The validator on real runs: workloads of every shape against the simulator, no false alarm.

Each run is measured by the kit's load generator against the in-process simulator and put
into a copy of the simulated fixture (its memory and system sections) with its records
beside it, so `validate_file` also recomputes the metrics from the records.
"""

from __future__ import annotations

import json

import pytest

from bench.client.loadgen import run_throughput
from bench.client.target import resolve_target
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig
from bench.sim.server import SimServer
from bench.validate import validate_file
from bench.workload.spec import ThroughputWorkload
from tests.conftest import FIXTURES

SPEED = 50.0

SHAPES = {
    "all-at-once": dict(input_len=256, output_len=32, num_prompts=40),
    "poisson": dict(input_len=128, output_len=16, num_prompts=60, request_rate=40.0),
    "ranged-chat": dict(input_len=512, output_len=64, num_prompts=30, range_ratio=0.5),
    "capped": dict(api="completions", input_len=64, output_len=24, num_prompts=24,
                   max_concurrency=4),
}  # fmt: skip


@pytest.fixture(scope="module")
def sim():
    with SimServer(SimConfig(speed=SPEED)) as server:
        yield server


@pytest.fixture(scope="module")
def failing_sim():
    with SimServer(SimConfig(speed=SPEED, faults=FaultConfig(error_rate=0.2))) as server:
        yield server


def document_with(run: dict, tmp_path) -> dict:
    doc = json.loads((FIXTURES / "results" / "simulated_valid.json").read_text())
    doc["measurements"]["throughput"] = [run]
    doc["measurements"]["latency"] = []
    doc["server"]["self_report"]["simulator"] = {"speed": SPEED}
    run["records"]["path"] = "records.jsonl"
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    return doc


def measure(server, tmp_path, **shape) -> dict:
    workload = ThroughputWorkload(seed=3, timeout_s=60, **shape)
    target = resolve_target(server.base_url, tokenizer=tokenizer_dir())
    return run_throughput(workload, target, tmp_path / "records.jsonl", progress=False)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_real_run_of_each_shape_validates_without_findings(sim, tmp_path, shape):
    run = measure(sim, tmp_path, **SHAPES[shape])
    document_with(run, tmp_path)
    findings = [f"{f.level} {f.pointer}: {f.message}" for f in validate_file(tmp_path / "doc.json")]
    assert findings == []


def test_a_run_with_failures_validates_and_a_changed_figure_is_caught(failing_sim, tmp_path):
    run = measure(failing_sim, tmp_path, input_len=64, output_len=16, num_prompts=40)
    metrics = run["metrics"]
    assert metrics["requests_failed"] > 0
    doc = document_with(run, tmp_path)
    assert validate_file(tmp_path / "doc.json") == []
    metrics["output_throughput_tok_s"] *= 1.3
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    where = "/measurements/throughput/0/metrics/output_throughput_tok_s"
    messages = [f.message for f in validate_file(tmp_path / "doc.json") if f.pointer == where]
    assert any("recomputed from the run's records" in m for m in messages)
    assert any("!= " in m and "/ " in m for m in messages)  # tokens / duration, too
