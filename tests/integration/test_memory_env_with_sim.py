"""bench memory and bench env against the kit's simulator: its log and self-report parse."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.memory import collect_memory
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.system.capture import capture_environment


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    with SimServer(SimConfig(log_file=log, speed=100.0)) as server:
        yield server, log


def test_env_names_the_simulator_as_the_engine(sim):
    server, _ = sim
    sw = capture_environment(base_url=server.base_url)["software"]
    assert sw["engine"]["name"] == "bench-sim" and sw["engine"]["version"]
    assert "engine.version" not in sw["missing"]


def test_memory_from_the_simulators_log_and_self_report(sim, fixtures):
    server, log = sim
    m = collect_memory(
        server_log=log,
        server_info=json.loads(_get(server.base_url + "/get_server_info")),
        model_dir=fixtures / "memory/model/qwen2-7b-instruct",
    )
    assert m["weights_gib"] is not None and m["kv_tokens"]
    assert m["mem_fraction_static"] == 0.9
    kv_row = next(r for r in m["reconciliation"] if r["what"].startswith("KV pool"))
    assert abs(kv_row["diff_pct"]) < 0.5  # the simulator sizes its pool with 57,344 B/token
    assert m["hbm_capacity_gib"] == 64.0 and "simulated" in m["sources"]["hbm_capacity_gib"]
    static = next(r for r in m["reconciliation"] if r["what"].startswith("weights + KV"))
    assert static["expected_gib"] == pytest.approx(0.9 * 64.0)


def test_memory_command_reads_the_server_info_url(sim, capsys, monkeypatch):
    server, log = sim
    monkeypatch.setenv("PATH", "/nonexistent")
    argv = ["memory", "--server-log", str(log), "--server-info", server.base_url, "--json"]
    assert main(argv) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["sources"]["mem_fraction_static"] in ("server_info", "server_log (server_args)")


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()
