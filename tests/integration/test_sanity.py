"""`bench sanity` and a profile's `[[sanity]]` entry against servers whose answers are known:
the simulator (every answer right; with `--fault-garbage-rate 1` every answer wrong, marked in
its ground truth), a server that answers words, one that fails every request, and none."""

from __future__ import annotations

import json
import socket

import pytest

from bench.cli import main
from bench.jsonio import load_document, sha256_file
from bench.records.sanity import read_sanity_records
from bench.report.results import load_entries
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig
from bench.sim.server import SimServer
from bench.validate import validate_file
from tests.integration.openai_stub import StubServer

WRONG = "the server's answers were wrong"


def truth_by_rid(path) -> dict[str, dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {line["rid"]: line for line in lines}


def sanity_cli(base_url: str, out, *extra: str) -> int:
    return main(["sanity", "--base-url", base_url, "--out", str(out), *extra])


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_the_simulator_answers_every_question_right(tmp_path, capsys, api):
    truth = tmp_path / "truth.jsonl"
    with SimServer(SimConfig(speed=20.0, ground_truth=truth)) as sim:
        code = sanity_cli(sim.base_url, tmp_path / "s.json", "--api", api)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "sanity: 20 of 20 answers right (accuracy 1.00, minimum 0.80): ok" in out
    sanity = json.loads((tmp_path / "s.json").read_text())
    assert (sanity["questions"], sanity["correct"], sanity["accuracy"]) == (20, 20, 1.0)
    assert (sanity["failed_requests"], sanity["api"], sanity["seed"]) == (0, api, 1)
    records = read_sanity_records(tmp_path / "s.records.jsonl")
    assert sha256_file(tmp_path / "s.records.jsonl") == sanity["records"]["sha256"]
    seen = truth_by_rid(truth)
    for record in records:
        sent = seen[record.rid]  # the simulator's own account of what it answered
        assert sent["fault"] is None and sent["answer"] == record.reply == str(record.expected)
        assert record.finish_reason == "stop" == sent["finish_reason"]
        assert record.completion_tokens == len(record.reply) == sent["completion_tokens"]


def test_with_the_garbage_fault_at_one_every_answer_is_wrong_and_marked(tmp_path, capsys):
    truth = tmp_path / "truth.jsonl"
    config = SimConfig(speed=20.0, ground_truth=truth, faults=FaultConfig(garbage_rate=1.0))
    with SimServer(config) as sim:
        code = sanity_cli(sim.base_url, tmp_path / "s.json", "--questions", "6")
    out = capsys.readouterr().out
    assert code == 1
    assert "sanity: 0 of 6 answers right (accuracy 0.00, minimum 0.80): BELOW" in out
    seen = truth_by_rid(truth)
    for record in read_sanity_records(tmp_path / "s.records.jsonl"):
        sent = seen[record.rid]
        assert sent["fault"] == "garbage" and sent["answer"] == record.reply
        assert 1 <= int(record.reply) - record.expected <= 99
        assert record.reason == f"answered {record.reply}, expected {record.expected}"


def test_a_server_that_answers_words_scores_zero(tmp_path, capsys):
    with StubServer("json_body") as stub:
        code = sanity_cli(stub.base_url, tmp_path / "s.json", "--questions", "4")
    assert code == 1
    records = read_sanity_records(tmp_path / "s.records.jsonl")
    assert [r.reason for r in records] == ["no number in the reply"] * 4
    assert all(r.reply and r.error_kind is None for r in records)


def test_every_failed_request_is_a_wrong_answer_with_its_reason(tmp_path, capsys):
    with StubServer("http_500") as stub:
        code = sanity_cli(stub.base_url, tmp_path / "s.json", "--questions", "3")
    assert code == 1
    sanity = json.loads((tmp_path / "s.json").read_text())
    assert (sanity["correct"], sanity["failed_requests"]) == (0, 3)
    for record in read_sanity_records(tmp_path / "s.records.jsonl"):
        assert record.error_kind == "http_5xx" and not record.correct
        assert record.reason.startswith("request failed (http_5xx): HTTP 500")


def test_no_server_at_all_is_wrong_answers_not_a_crash(tmp_path, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    flags = ("--questions", "2", "--model", "m", "--timeout", "5")
    code = sanity_cli(url, tmp_path / "s.json", *flags)
    assert code == 1
    records = read_sanity_records(tmp_path / "s.records.jsonl")
    assert [r.error_kind for r in records] == ["connection", "connection"]


def test_an_existing_out_is_refused_before_anything_is_asked(tmp_path, capsys):
    (tmp_path / "s.json").write_text("{}")
    with StubServer("json_body") as stub:
        assert sanity_cli(stub.base_url, tmp_path / "s.json") == 1
        assert stub.seen == []
    assert (tmp_path / "s.json").read_text() == "{}"
    assert not (tmp_path / "s.records.jsonl").exists()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--min-accuracy", "2"], "--min-accuracy must be within [0, 1], got 2.0"),
        (["--questions", "0"], "--questions must be >= 1, got 0"),
        (["--api", "generate"], "invalid choice: 'generate'"),
    ],
)
def test_a_bad_flag_is_a_usage_error(tmp_path, capsys, flags, words):
    try:  # argparse exits for a choice it does not know; the kit returns for a bad value
        code = main(["sanity", "--base-url", "http://127.0.0.1:9", *flags])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert words in capsys.readouterr().err


PROFILE = """
[profile]
name = "tiny"
description = "one latency run, then five sanity questions"

[[latency]]
name = "lat"
input_len = 32
output_len = 8
runs = 2
warmup = 1

[[sanity]]
questions = 5
"""


def run_against(config: SimConfig, tmp_path) -> tuple[int, object]:
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "results" / "doc.json"
    with SimServer(config) as sim:
        code = main(["run", "--profile", str(profile), "--base-url", sim.base_url,
                     "--out", str(out), "--submitter", "t"])  # fmt: skip
    return code, out


def test_bench_run_records_the_check_beside_the_runs(tmp_path, capsys):
    code, out = run_against(SimConfig(speed=20.0), tmp_path)
    assert code == 0
    assert [f for f in validate_file(out) if f.level == "error"] == []
    sanity = load_document(out)["sanity"]
    assert (sanity["correct"], sanity["questions"]) == (5, 5)
    assert sanity["records"]["path"] == "doc.records/sanity.jsonl"  # relative, like the runs'
    assert "sanity: 5 of 5 answers right" in capsys.readouterr().out


def test_fast_garbage_is_written_invalid_unranked_and_the_report_says_why(tmp_path, capsys):
    config = SimConfig(speed=20.0, faults=FaultConfig(garbage_rate=1.0))
    code, out = run_against(config, tmp_path)
    assert code == 1 and out.exists()  # recorded honestly, and refused
    assert "the result is invalid" in capsys.readouterr().err
    errors = [f for f in validate_file(out) if f.level == "error"]
    assert [(f.pointer, f.message.split(":")[0]) for f in errors] == [("/sanity/accuracy", WRONG)]
    (entry,) = [e for e in load_entries(out.parent, tmp_path, baseline=None)]
    assert not entry.valid and WRONG in entry.errors[0].message
    report = tmp_path / "REPORT.md"
    assert main(["report", "--results", str(out.parent), "--out", str(report),
                 "--baseline", "none"]) == 0  # fmt: skip
    invalid = report.read_text().split("## Invalid results (not ranked)")[1].split("\n## ")[0]
    assert "/sanity/accuracy" in invalid and WRONG in invalid


def test_ctrl_c_keeps_every_answered_question_and_says_where(tmp_path, capsys, monkeypatch):
    import bench.client.sanity as client

    asked = []
    real_ask = client.ask

    def ask_then_interrupt(*args):
        if len(asked) == 2:
            raise KeyboardInterrupt
        asked.append(args)
        return real_ask(*args)

    monkeypatch.setattr(client, "ask", ask_then_interrupt)
    with SimServer(SimConfig(speed=20.0)) as sim:
        code = sanity_cli(sim.base_url, tmp_path / "s.json")
    assert code == 130
    assert not (tmp_path / "s.json").exists()
    records = read_sanity_records(tmp_path / "s.records.jsonl")
    assert [r.correct for r in records] == [True, True]
    assert f"every finished request is in {tmp_path / 's.records.jsonl'}" in capsys.readouterr().err


def test_bench_submit_files_the_sanity_records_with_the_document(tmp_path, capsys):
    from bench.trust.manifest import named_records

    code, out = run_against(SimConfig(speed=20.0), tmp_path)
    assert code == 0
    doc = load_document(out)
    named = {n.pointer: n.path for n in named_records(doc)}
    assert named["/sanity/records"] == "doc.records/sanity.jsonl"
    results = tmp_path / "filed"
    results.mkdir()
    assert main(["submit", str(out), "--results", str(results), "--allow-simulated"]) == 0
    (filed,) = results.rglob("doc.records/sanity.jsonl")
    assert sha256_file(filed) == doc["sanity"]["records"]["sha256"]
    (document,) = [p for p in results.rglob("*.json")]
    assert [f for f in validate_file(document) if f.level == "error"] == []
