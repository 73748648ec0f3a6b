"""`bench validate`: exit codes, one line per finding, --json, untrusted files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bench.cli import main
from tests.conftest import FIXTURES

VALID = FIXTURES / "results" / "simulated_valid.json"


def validate(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["validate", *argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def broken_copy(tmp_path, name="bad.json"):
    doc = json.loads(VALID.read_text())
    doc["measurements"]["throughput"][0]["metrics"]["ttft_ms"]["p99"] = 100.0
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_valid_documents_exit_0_with_a_summary(capsys):
    code, out, err = validate(capsys, str(VALID))
    assert code == 0 and err == ""
    assert (
        out.splitlines()[-1] == "1 file(s) checked: 1 valid, 0 invalid (0 error(s), 2 warning(s))"
    )


def test_an_invalid_document_exits_1_with_one_line_per_finding(capsys, tmp_path):
    bad = broken_copy(tmp_path)
    code, out, _ = validate(capsys, str(VALID), str(bad))
    assert code == 1
    assert (
        f"{bad}: error /measurements/throughput/0/metrics/ttft_ms/p99: p99 100 is below p90 7610"
        in out.splitlines()
    )
    assert out.splitlines()[-1].startswith("2 file(s) checked: 1 valid, 1 invalid (")


def test_json_output_is_an_array_of_findings(capsys, tmp_path):
    bad = broken_copy(tmp_path)
    code, out, _ = validate(capsys, "--json", str(bad))
    findings = json.loads(out)
    assert code == 1
    assert {tuple(f) for f in findings} == {("file", "level", "pointer", "message")}
    assert {
        "file": str(bad),
        "level": "error",
        "pointer": "/measurements/throughput/0/metrics/ttft_ms/p99",
        "message": "p99 100 is below p90 7610",
    } in findings


@pytest.mark.parametrize(
    ("argv", "words"),
    [([], "the following arguments are required: FILE"), (["--nope", "x"], "unrecognized")],
)
def test_usage_errors_exit_2(capsys, argv, words):
    code, out, err = validate(capsys, *argv)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_a_directory_is_expanded_to_its_json_files(capsys, tmp_path):
    shutil.copy(VALID, tmp_path / "a.json")
    (tmp_path / "deeper").mkdir()
    broken_copy(tmp_path / "deeper", "b.json")
    (tmp_path / "notes.txt").write_text("not a document")
    code, out, _ = validate(capsys, str(tmp_path))
    assert code == 1
    assert out.splitlines()[-1].startswith("2 file(s) checked: 1 valid, 1 invalid")


def test_a_directory_without_json_is_a_usage_error(capsys, tmp_path):
    code, _, err = validate(capsys, str(tmp_path))
    assert code == 2 and err == f"Error: {tmp_path}: directory holds no *.json file\n"


MALFORMED = {
    "truncated.json": (VALID.read_bytes()[:300], "not valid JSON: Unterminated string"),
    "huge.json": (b'{"a": "' + b"x" * (20 * 2**20) + b'"}', "larger than the 10 MiB limit"),
    "nan.json": (b'{"schema_version": NaN}', "NaN is not JSON"),
    "list.json": (b"[]", "the top level is a JSON array"),
    "dup.json": (b'{"kind": "measured", "kind": "reported"}', "duplicate key 'kind'"),
    "latin1.json": (b'{"title": "caf\xe9"}', "not valid UTF-8"),
}


def test_malformed_files_give_exit_1_and_one_line_each_without_traceback(tmp_path):
    for name, (data, _) in MALFORMED.items():
        (tmp_path / name).write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "validate", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == len(MALFORMED) + 1
    for name, (_, words) in MALFORMED.items():
        line = next(x for x in lines if x.startswith(str(tmp_path / name) + ":"))
        assert line.startswith(f"{tmp_path / name}: error (root): ") and words in line
