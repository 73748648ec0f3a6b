"""`bench run`: a profile against a server -> one complete result document that validates.

Against the simulator the document is `kind: simulated`; against another
OpenAI-compatible server (the test stub, which has no /get_server_info) it is `measured`.
A server that answers nothing leaves the records on disk and says where.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document, sha256_file
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.process import SimProcess
from bench.sim.server import SimServer
from bench.validate import validate_file
from tests.integration.openai_stub import StubServer

TINY = """
[profile]
name = "tiny"
description = "two small runs"

[server]
mem_fraction_static = 0.9

[[throughput]]
name = "tp"
input_len = 32
output_len = 8
num_prompts = 6
max_concurrency = 3
timeout_s = {timeout}

[[latency]]
name = "lat"
input_len = 32
output_len = 8
runs = 2
warmup = 1
timeout_s = {timeout}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    with SimServer(SimConfig(speed=50.0, log_file=log)) as server:
        yield server


def profile_file(tmp_path, timeout=30):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(timeout=timeout))
    return path


def errors_and_warnings(path):
    findings = validate_file(path)
    return [f"{f.level} {f.pointer}: {f.message}" for f in findings]


def test_quick_profile_against_the_simulator_writes_a_clean_simulated_document(
    sim, tmp_path, capsys
):
    out = tmp_path / "doc.json"
    code = main(
        ["run", "--profile", "quick", "--base-url", sim.base_url, "--out", str(out),
         "--server-log", str(sim.config.log_file), "--submitter", "tester"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert errors_and_warnings(out) == []
    doc = load_document(out)
    assert doc["kind"] == "simulated"
    assert doc["submitter"]["name"] == "tester"
    assert doc["software"]["engine"]["name"] == "bench-sim"
    assert doc["server"]["self_report"]["simulated"] is True
    assert doc["provenance"]["profile"]["name"] == "quick"
    assert doc["provenance"]["commands"][0].startswith("python -m bench run --profile quick")
    (tp,) = doc["measurements"]["throughput"]
    (lat,) = doc["measurements"]["latency"]
    assert tp["metrics"]["requests_completed"] == 24
    assert tp["metrics"]["total_output_tokens"] == 24 * 32
    assert lat["metrics"]["requests_completed"] == 3
    assert doc["measurements"]["memory"]["kv_tokens"] > 0
    for run in (tp, lat):
        records = out.parent / run["records"]["path"]
        assert records.parent.name == "doc.records"
        assert sha256_file(records) == run["records"]["sha256"]
    assert "simulated result written to" in capsys.readouterr().out


def test_default_name_under_results_dir_never_overwrites(sim, tmp_path):
    args = ["run", "--profile", str(profile_file(tmp_path)), "--base-url", sim.base_url,
            "--results-dir", str(tmp_path / "results")]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0
    docs = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert len(docs) == 2 and all(d.startswith("tiny-simulated-") for d in docs)


def test_a_server_that_is_not_the_simulator_gives_a_measured_document(tmp_path):
    out = tmp_path / "doc.json"
    with StubServer("sglang") as stub:
        code = main(
            ["run", "--profile", str(profile_file(tmp_path)), "--base-url", stub.base_url,
             "--tokenizer", str(tokenizer_dir()), "--out", str(out)]
        )  # fmt: skip
    assert code == 0
    doc = load_document(out)
    assert doc["kind"] == "measured"
    assert doc["server"]["self_report"] is None
    assert "no server self-report" in doc["notes"]
    # The stub's usage always says 11 prompt tokens for 32-token prompts: the document
    # keeps what the server said, and the validator points at exactly that.
    errors = [f for f in validate_file(out) if f.level == "error"]
    assert errors and all("32 tokens" in f.message for f in errors)


def test_a_profile_can_turn_ignore_eos_off_for_servers_that_reject_it(tmp_path):
    path = tmp_path / "no-eos.toml"
    text = TINY.format(timeout=30).replace("timeout_s = 30", "timeout_s = 30\nignore_eos = false")
    path.write_text(text)
    out = tmp_path / "doc.json"
    with StubServer("sglang") as stub:
        code = main(
            ["run", "--profile", str(path), "--base-url", stub.base_url,
             "--tokenizer", str(tokenizer_dir()), "--out", str(out)]
        )  # fmt: skip
    assert code == 0
    assert len(stub.seen) == 6 + 1 + 1 + 2  # warm-up and 6 prompts, warm-up and 2 runs
    assert all("ignore_eos" not in s["body"] for s in stub.seen)
    doc = load_document(out)
    runs = doc["measurements"]["throughput"] + doc["measurements"]["latency"]
    assert [r["workload"]["ignore_eos"] for r in runs] == [False, False]


def test_failed_requests_are_recorded_and_the_exit_code_says_so(tmp_path, capsys):
    out = tmp_path / "doc.json"
    with StubServer("http_500") as stub:
        code = main(
            ["run", "--profile", str(profile_file(tmp_path)), "--base-url", stub.base_url,
             "--tokenizer", str(tokenizer_dir()), "--out", str(out)]
        )  # fmt: skip
    assert code == 1
    assert "requests failed" in capsys.readouterr().err
    tp = load_document(out)["measurements"]["throughput"][0]["metrics"]
    assert tp["requests_failed"] == 6 and tp["failures"] == {"http_5xx": 6}


def test_the_resolved_profile_is_kept_in_provenance(sim, tmp_path):
    out = tmp_path / "doc.json"
    assert main(["run", "--profile", str(profile_file(tmp_path)), "--base-url", sim.base_url,
                 "--out", str(out)]) == 0  # fmt: skip
    profile = json.loads(out.read_text())["provenance"]["profile"]
    assert profile["throughput"][0]["range_ratio"] == 1.0  # a default, filled in
    assert profile["latency"][0]["runs"] == 2


def slow_profile(tmp_path: Path, timeout: int) -> Path:
    """TINY made slow: 40 requests of 64 output tokens, one at a time."""
    profile = tmp_path / "slow.toml"
    profile.write_text(
        TINY.format(timeout=timeout).replace("num_prompts = 6", "num_prompts = 40")
        .replace("max_concurrency = 3", "max_concurrency = 1")
        .replace("output_len = 8", "output_len = 64")
    )  # fmt: skip
    return profile


def start_bench_run(profile: Path, base_url: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--profile", str(profile),
         "--base-url", base_url, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_lines(path: Path, lines: int, seconds: float) -> None:
    """Until `path` holds `lines` lines, for `seconds` at most."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().count("\n") >= lines:
            break
        time.sleep(0.1)


def test_ctrl_c_keeps_the_records_and_says_where(tmp_path):
    out = tmp_path / "doc.json"
    records = tmp_path / "doc.records" / "tp.jsonl"
    with SimServer(SimConfig(speed=1.0)) as slow:
        proc = start_bench_run(slow_profile(tmp_path, 30), slow.base_url, out)
        wait_for_lines(records, 2, 60)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert not out.exists()
    assert f"records of the runs so far are in {records.parent}" in err
    assert records.read_text().count("\n") >= 2  # what finished before Ctrl-C is kept
    assert os.path.getsize(records) > 0


def test_a_server_killed_mid_run_stops_it_and_keeps_the_records(tmp_path):
    out = tmp_path / "doc.json"
    records = tmp_path / "doc.records" / "tp.jsonl"
    with SimProcess(workdir=tmp_path) as sim:
        run = start_bench_run(slow_profile(tmp_path, 10), sim.base_url, out)
        wait_for_lines(records, 2, 60)
        sim.stop(signal.SIGKILL)
        _out, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert not out.exists()
    assert f"records of the runs so far are in {records.parent}" in err
    assert err.count("Error:") == 1
    assert records.read_text().count("\n") >= 2


def test_an_unreachable_server_is_one_clear_error_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "doc.json"
    code = main(["run", "--profile", "quick", "--base-url", "http://127.0.0.1:9",
                 "--out", str(out)])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: cannot reach the server at http://127.0.0.1:9")
    assert not out.exists() and not (tmp_path / "doc.records").exists()


def test_no_tokenizer_anywhere_is_a_usage_error(tmp_path, capsys):
    with StubServer("sglang") as stub:
        code = main(["run", "--profile", "quick", "--base-url", stub.base_url,
                     "--out", str(tmp_path / "doc.json")])  # fmt: skip
    assert code == 2
    assert "no tokenizer: pass --tokenizer DIR" in capsys.readouterr().err


def test_model_dir_gives_architecture_source_and_revision(sim, tmp_path):
    import shutil

    from tests.conftest import FIXTURES

    model = tmp_path / "Qwen2-7B-Instruct"
    model.mkdir()
    shutil.copy(FIXTURES / "memory" / "model" / "qwen2-7b-instruct" / "config.json",
                model / "config.json")  # fmt: skip
    shutil.copy(tokenizer_dir() / "tokenizer.json", model / "tokenizer.json")
    (model / "MODEL_SOURCE.json").write_text(
        json.dumps({"model_id": "Qwen/Qwen2-7B-Instruct", "source": "modelscope",
                    "requested_revision": "v1.0.0", "pinned": True, "resolved_commit": None})
    )  # fmt: skip
    out = tmp_path / "doc.json"
    assert main(["run", "--profile", str(profile_file(tmp_path)), "--base-url", sim.base_url,
                 "--model-dir", str(model), "--out", str(out)]) == 0  # fmt: skip
    doc = load_document(out)
    assert doc["model"]["source"] == "modelscope" and doc["model"]["revision"] == "v1.0.0"
    assert (doc["model"]["num_layers"], doc["model"]["num_kv_heads"]) == (28, 4)
    assert doc["measurements"]["throughput"][0]["workload"]["tokenizer"] == str(model)
    assert not [f for f in validate_file(out) if f.level == "error"]
