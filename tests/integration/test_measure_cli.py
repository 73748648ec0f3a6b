"""`bench throughput`, `bench latency` and `bench selftest` against the simulator, end to end.

The run objects they write must satisfy the result schema's `run` definition, and the
records file must be the one whose sha256 the run names.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bench.cli import main
from bench.jsonio import sha256_file
from bench.records import read_records
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer


@pytest.fixture(scope="module")
def sim():
    with SimServer(SimConfig(speed=20.0)) as server:
        yield server


def run_validator(repo):
    schema = json.loads((repo / "schema" / "result.schema.json").read_text())
    wrapper = {
        "$defs": schema["$defs"],
        "allOf": [{"$ref": "#/$defs/run"}, {"$ref": "#/$defs/measured_run"}],
    }
    return jsonschema.Draft202012Validator(wrapper)


def check_run_file(repo, out):
    run = json.loads(out.read_text())
    errors = sorted(run_validator(repo).iter_errors(run), key=str)
    assert not errors, errors[0].message
    records = out.with_name(out.name.removesuffix(".json") + ".records.jsonl")
    assert run["records"]["path"] == str(records)
    assert run["records"]["sha256"] == sha256_file(records)
    assert run["records"]["count"] == len(read_records(records))
    return run


def test_throughput_writes_a_valid_run_and_its_records(sim, tmp_path, repo, capsys):
    out = tmp_path / "tp.json"
    code = main([
        "throughput", "--base-url", sim.base_url, "--tokenizer", str(tokenizer_dir()),
        "--num-prompts", "12", "--input-len", "64", "--output-len", "8",
        "--max-concurrency", "4", "--request-rate", "200", "--warmup", "2", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = check_run_file(repo, out)
    m = run["metrics"]
    assert (m["requests_completed"], m["total_output_tokens"]) == (12, 96)
    assert m["total_input_tokens"] > 12 * 64  # N_in from usage includes the chat template
    assert m["requested_rate_rps"] == 200
    assert run["workload"]["warmup_requests"] == 2 and run["records"]["count"] == 14
    assert "TTFT" in capsys.readouterr().out


def test_latency_writes_a_valid_run(sim, tmp_path, repo, capsys):
    out = tmp_path / "lat.json"
    code = main([
        "latency", "--base-url", sim.base_url, "--tokenizer", str(tokenizer_dir()),
        "--api", "completions", "--input-len", "128", "--output-len", "8",
        "--runs", "3", "--warmup", "1", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = check_run_file(repo, out)
    m = run["metrics"]
    assert m["requests_completed"] == 3 and m["total_input_tokens"] == 3 * 128
    assert m["token_counts"]["requests_with_mismatch"] == 0


def test_an_existing_out_file_is_never_overwritten(sim, tmp_path, capsys):
    out = tmp_path / "taken.json"
    out.write_text("mine")
    code = main(["throughput", "--base-url", sim.base_url, "--out", str(out),
                 "--tokenizer", str(tokenizer_dir())])  # fmt: skip
    assert code == 1 and out.read_text() == "mine"
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["throughput", "latency"])
def test_the_tokenizer_the_server_reports_is_used_as_bench_run_uses_it(sim, tmp_path, command):
    out = tmp_path / "run.json"
    size = ["--num-prompts", "2"] if command == "throughput" else ["--runs", "2"]
    code = main([command, "--base-url", sim.base_url, "--input-len", "16", "--output-len", "4",
                 "--warmup", "0", *size, "--out", str(out)])  # fmt: skip
    assert code == 0
    tokenizer = json.loads(out.read_text())["workload"]["tokenizer"]
    assert Path(tokenizer) == tokenizer_dir()  # what the simulator's /get_server_info names


def test_a_server_that_reports_no_tokenizer_is_a_usage_error(tmp_path, capsys):
    from tests.integration.openai_stub import StubServer

    with StubServer("sglang") as stub:
        code = main(["latency", "--base-url", stub.base_url, "--records", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("Error: no tokenizer") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()  # refused before anything was sent


def test_an_unreachable_server_is_one_error_line(tmp_path, capsys):
    code = main([
        "throughput", "--base-url", "http://127.0.0.1:9", "--model", "m",
        "--tokenizer", str(tokenizer_dir()), "--num-prompts", "5", "--warmup", "0",
        "--records", str(tmp_path / "r.jsonl"), "--timeout", "5",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "stopped accepting connections" in err and str(tmp_path) in err
    assert err.count("\n") == 1


def test_selftest_writes_an_accuracy_object(tmp_path, repo, capsys):
    out = tmp_path / "acc.json"
    code = main([
        "selftest", "--concurrencies", "1,4", "--input-len", "32", "--output-len", "6",
        "--requests-per-level", "4", "--speed", "10", "--workdir", str(tmp_path / "w"),
        "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    accuracy = json.loads(out.read_text())
    schema = json.loads((repo / "schema" / "result.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": "#/$defs/accuracy"}
    )
    assert not list(validator.iter_errors(accuracy))
    assert accuracy["requests_compared"] == 8 and accuracy["concurrencies"] == [1, 4]
    assert accuracy["output_tokens_exact"] is True
    printed = capsys.readouterr().out
    assert "c=1" in printed and "c=4" in printed and "N_out exact: yes" in printed


def test_failed_requests_exit_1_and_a_4xx_suggests_no_ignore_eos(tmp_path, capsys):
    from tests.integration.openai_stub import StubServer

    with StubServer("http_429") as stub:
        code = main([
            "throughput", "--base-url", stub.base_url, "--tokenizer", str(tokenizer_dir()),
            "--num-prompts", "2", "--warmup", "0", "--records", str(tmp_path / "r.jsonl"),
        ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "2 of 2 requests failed (http_4xx: 2)" in err and "--no-ignore-eos" in err
    assert str(tmp_path / "r.jsonl") in err
