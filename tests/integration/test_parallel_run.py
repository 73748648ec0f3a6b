"""Past one NPU on the simulator: `bench sim --tp-size 2 --dp-size 2`, `bench run` against it,
and the document: four NPUs counted (per-NPU = output / 4), one memory entry per rank of
each replica, node captures in `system.nodes`, and a document the validator accepts.
"""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.sim.config import SimConfig
from bench.sim.launch import LaunchFlags
from bench.sim.server import SimServer
from bench.validate import validate_file


@pytest.fixture(scope="module")
def dp_sim(tmp_path_factory):
    log = tmp_path_factory.mktemp("dp") / "sim.log"
    config = SimConfig(speed=50.0, log_file=log, launch=LaunchFlags(tp_size=2, dp_size=2))
    with SimServer(config) as server:
        yield server


def test_a_tp2_dp2_run_counts_four_npus_and_each_replicas_memory(dp_sim, tmp_path, capsys):
    capture = tmp_path / "node-0.env.json"
    assert main(["env", "--json"]) == 0
    capture.write_text(capsys.readouterr().out)
    out = tmp_path / "doc.json"
    code = main(
        ["run", "--profile", "quick", "--base-url", dp_sim.base_url, "--out", str(out),
         "--server-log", str(dp_sim.config.log_file), "--node-env", f"0={capture}",
         "--no-telemetry"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    findings = validate_file(out)
    assert [f for f in findings if f.level == "error"] == [], findings
    doc = load_document(out)
    args = doc["server"]["args"]
    assert (args["tp_size"], args["dp_size"], doc["system"]["accelerator"]["count"]) == (2, 2, 4)
    (run,) = doc["measurements"]["throughput"]
    metrics = run["metrics"]
    assert metrics["output_throughput_per_npu_tok_s"] == pytest.approx(
        metrics["output_throughput_tok_s"] / 4
    )
    ranks = doc["measurements"]["memory"]["per_rank"]
    assert [(r["dp_rank"], r["rank"]) for r in ranks] == [(0, 0), (1, 0)]  # the sim logs TP0
    assert len({r["weights_gib"] for r in ranks}) == 1  # each replica holds weights / TP
    (node,) = doc["system"]["nodes"]
    assert node["node_rank"] == 0 and node["source"] == str(capture)
    assert node["accelerator"] == json.loads(capture.read_text())["system"]["accelerator"]
    assert f"--node-env 0={capture}" in doc["provenance"]["commands"][0]
