"""`bench submit`: validate, refuse what is invalid or already there, file by convention."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import report_docs as docs

from bench.cli import main
from bench.report.submit import relative_destination, slug


@pytest.fixture
def results(tmp_path: Path) -> Path:
    directory = tmp_path / "results"
    directory.mkdir()
    return directory


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_valid_result_is_filed_by_convention_byte_for_byte(tmp_path, results, capsys):
    source = docs.write(tmp_path, "my-run.json", docs.with_submitter(docs.measured(), "Li Wei"))
    data = source.read_bytes()
    short = hashlib.sha256(data).hexdigest()[:12]
    assert main(["submit", str(source), "--results", str(results)]) == 0
    expected = results / "910b3-x1" / "qwen-qwen2-7b-instruct" / "sglang"
    expected = expected / f"2026-11-20-li-wei-{short}.json"
    assert _files(results) == [expected]
    assert expected.read_bytes() == data
    out = capsys.readouterr().out
    assert str(expected) in out and "pull request" in out and "bench report" in out


def test_invalid_result_is_refused_with_its_findings(tmp_path, results, capsys):
    broken = docs.measured()
    broken["measurements"]["throughput"][0]["metrics"]["total_throughput_tok_s"] = 1.0
    source = docs.write(tmp_path, "broken.json", broken)
    assert main(["submit", str(source), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "total_throughput_tok_s" in err
    assert err.splitlines()[-1].startswith("Error:") and "invalid" in err.splitlines()[-1]
    assert _files(results) == []


def test_unreadable_file_is_refused_in_one_line(tmp_path, results, capsys):
    source = tmp_path / "x.json"
    source.write_text("[1, 2]", encoding="utf-8")
    assert main(["submit", str(source), "--results", str(results)]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("Error:")
    assert _files(results) == []


def test_existing_file_name_is_refused_and_left_untouched(tmp_path, results, capsys):
    source = docs.write(tmp_path, "run.json", docs.measured())
    assert main(["submit", str(source), "--results", str(results)]) == 0
    (filed,) = _files(results)
    filed.write_bytes(b"reviewer's copy")
    capsys.readouterr()
    assert main(["submit", str(source), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("Error:") == 1
    assert filed.read_bytes() == b"reviewer's copy"


def test_simulated_result_is_refused_unless_allowed(tmp_path, results):
    source = docs.write(tmp_path, "sim.json", docs.simulated())
    assert main(["submit", str(source), "--results", str(results)]) == 1
    assert _files(results) == []
    assert main(["submit", str(source), "--results", str(results), "--allow-simulated"]) == 0
    (filed,) = _files(results)
    assert filed.relative_to(results).parts[2] == "bench-sim"


def test_dry_run_writes_nothing(tmp_path, results, capsys):
    source = docs.write(tmp_path, "run.json", docs.measured())
    assert main(["submit", str(source), "--results", str(results), "--dry-run"]) == 0
    assert "Would file" in capsys.readouterr().out
    assert _files(results) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Qwen/Qwen2-7B-Instruct", "qwen-qwen2-7b-instruct"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "fallback"),
        ("/", "fallback"),
        ("张三", "fallback"),
        ("Zoë  O'Brien", "zoe-o-brien"),
        ("a" * 100, "a" * 40),
    ],
)
def test_slugs_are_safe_path_components(value, expected):
    assert slug(value, "fallback") == expected


def test_hostile_document_fields_cannot_leave_their_directory():
    doc = docs.measured()
    doc["system"]["accelerator"]["name"] = "../../.."
    doc["model"]["id"] = "/etc/"
    doc["software"]["engine"]["name"] = ".."
    doc["submitter"]["name"] = "../x"
    doc["created_utc"] = "../../2026"
    rel = relative_destination(doc, "0" * 64)
    assert not rel.is_absolute()
    assert all(part not in ("", ".", "..") and "/" not in part for part in rel.parts)
    assert rel.parts[:3] == ("x1", "etc", "unknown-engine")
    assert rel.name == "undated-x-000000000000.json"


def test_oversized_file_is_refused_without_being_read_whole(tmp_path, results, capsys):
    source = tmp_path / "huge.json"
    with source.open("wb") as f:
        f.write(b'{"pad": "' + b"x" * (11 * 2**20) + b'"}')
    assert main(["submit", str(source), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "MiB" in err and err.count("\n") == 1
    assert _files(results) == []
