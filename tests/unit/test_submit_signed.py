"""`bench submit` files a document with its records (and `--sign`: its signature), whole.

The records go to the relative paths the document names, beside the filed document, so
the document's bytes and its signature stay what they were; nothing is ever replaced, and
a submission that cannot be filed whole leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import trust_kit as kit

from bench.cli import main
from bench.errors import OutputExistsError
from bench.trust.filing import create_all


@pytest.fixture
def results(tmp_path: Path) -> Path:
    directory = tmp_path / "results"
    directory.mkdir()
    return directory


@pytest.fixture
def key(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    directory.mkdir()
    return kit.keygen(directory, "alice")


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _filed_name(source: Path) -> str:
    short = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    return f"910b3-x1/qwen-qwen2-7b-instruct/sglang/2026-11-20-li-wei-{short}.json"


def test_signed_submission_files_document_records_and_signature_that_verify(
    tmp_path, results, key, capsys
):
    source = kit.measured_with_records(tmp_path / "runs")
    name = _filed_name(source)
    assert main(["submit", str(source), "--results", str(results), "--sign", str(key)]) == 0
    folder = name.rsplit("/", 1)[0]
    assert _files(results) == [
        name,
        f"{name}.sig",
        f"{folder}/run.records/latency.jsonl",
        f"{folder}/run.records/throughput.jsonl",
    ]
    assert (results / name).read_bytes() == source.read_bytes()
    for section in ("latency", "throughput"):
        filed = results / folder / "run.records" / f"{section}.jsonl"
        assert filed.read_bytes() == kit.RECORDS[section]
    out = capsys.readouterr().out
    assert "with 2 records files" in out and "Signed it:" in out and "allowed_signers" in out
    allowed = kit.allowed_signers(results / "allowed_signers", {"alice@example.com": key})
    assert main(["verify", str(results), "--allowed-signers", str(allowed)]) == 0
    assert "verified: signed by alice@example.com" in capsys.readouterr().out


def test_unsigned_submission_files_its_records_too(tmp_path, results, capsys):
    source = kit.measured_with_records(tmp_path / "runs")
    assert main(["submit", str(source), "--results", str(results)]) == 0
    assert len(_files(results)) == 3  # the document and its two records files
    assert not any(f.endswith(".sig") for f in _files(results))


def test_a_records_file_left_behind_is_noted_and_refused_when_signing(
    tmp_path, results, key, capsys
):
    source = kit.measured_with_records(tmp_path / "runs")
    (source.parent / "run.records" / "latency.jsonl").unlink()
    assert main(["submit", str(source), "--results", str(results), "--sign", str(key)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("Error: ") and "--sign files the document" in err
    assert _files(results) == []
    assert main(["submit", str(source), "--results", str(results)]) == 0
    assert "latency.jsonl is not there; the document is filed without it" in capsys.readouterr().err
    assert len(_files(results)) == 2  # the document and the records file that is there


def test_records_changed_since_the_run_are_refused(tmp_path, results, key, capsys):
    source = kit.measured_with_records(tmp_path / "runs")
    kit.flip_byte(source.parent / "run.records" / "throughput.jsonl", b"1")
    assert main(["submit", str(source), "--results", str(results), "--sign", str(key)]) == 1
    err = capsys.readouterr().err
    assert "throughput.jsonl has a different sha256 than the document records" in err
    assert _files(results) == []


def test_another_submissions_records_of_the_same_name_are_never_replaced(tmp_path, results, capsys):
    first = kit.measured_with_records(tmp_path / "a", submitter="Li Wei")
    assert main(["submit", str(first), "--results", str(results)]) == 0
    second = kit.measured_with_records(tmp_path / "b", submitter="Zhang San")
    (second.parent / "run.records" / "latency.jsonl").write_bytes(b'{"other": 1}\n')
    capsys.readouterr()
    assert main(["submit", str(second), "--results", str(results)]) == 1  # invalid: sha differs
    doc = json.loads(second.read_text("utf-8"))
    doc["measurements"]["latency"][0]["records"]["sha256"] = hashlib.sha256(
        b'{"other": 1}\n'
    ).hexdigest()
    second.write_text(json.dumps(doc), "utf-8")
    before = _files(results)
    assert main(["submit", str(second), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "already exists with other contents" in err and "another --out name" in err
    assert _files(results) == before
    folder = next(results.rglob("run.records"))
    assert (folder / "latency.jsonl").read_bytes() == kit.RECORDS["latency"]


def test_identical_records_already_filed_are_shared_not_rewritten(tmp_path, results):
    first = kit.measured_with_records(tmp_path / "a", submitter="Li Wei")
    assert main(["submit", str(first), "--results", str(results)]) == 0
    again = kit.measured_with_records(tmp_path / "b", submitter="Li Wei 2")
    assert main(["submit", str(again), "--results", str(results)]) == 0
    assert len(_files(results)) == 4  # two documents, one shared pair of records files


def test_dry_run_with_sign_signs_nothing_and_writes_nothing(tmp_path, results, key, capsys):
    source = kit.measured_with_records(tmp_path / "runs")
    args = ["submit", str(source), "--results", str(results), "--sign", str(key), "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "with 2 records files, signed with" in out and "Nothing written." in out
    assert _files(results) == []


def test_a_signing_failure_files_nothing(tmp_path, results, capsys):
    source = kit.measured_with_records(tmp_path / "runs")
    keys = tmp_path / "keys"
    keys.mkdir()
    locked = kit.keygen(keys, "locked", passphrase="secret words")
    assert main(["submit", str(source), "--results", str(results), "--sign", str(locked)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: ssh-keygen could not sign")
    assert _files(results) == []


def test_a_missing_key_is_a_usage_error(tmp_path, results, capsys):
    source = kit.measured_with_records(tmp_path / "runs")
    missing = tmp_path / "no-key"
    assert main(["submit", str(source), "--results", str(results), "--sign", str(missing)]) == 2
    assert capsys.readouterr().err == f"Error: --sign: key file not found: {missing}\n"


def test_a_records_path_leaving_the_directory_is_never_followed(tmp_path, results, key, capsys):
    source = kit.measured_with_records(tmp_path / "runs" / "deep")
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(b"not yours\n")
    doc = json.loads(source.read_text("utf-8"))
    doc["measurements"]["latency"][0]["records"]["path"] = "../../outside.jsonl"
    doc["measurements"]["latency"][0]["records"]["sha256"] = None
    source.write_text(json.dumps(doc), "utf-8")
    assert main(["submit", str(source), "--results", str(results), "--sign", str(key)]) == 1
    assert "below the document's directory" in capsys.readouterr().err
    assert _files(results) == []
    assert main(["submit", str(source), "--results", str(results)]) == 0
    assert "'../../outside.jsonl' has a `.` or `..` part" in capsys.readouterr().err
    assert len(_files(results)) == 2  # the document and its one followable records file
    assert not any("outside" in f for f in _files(results))


def test_create_all_removes_what_it_created_when_a_later_file_exists(tmp_path):
    taken = tmp_path / "c"
    taken.write_bytes(b"someone else's")
    files = [(tmp_path / "a", b"1"), (tmp_path / "sub" / "b", b"2"), (taken, b"3")]
    with pytest.raises(OutputExistsError):
        create_all(files)
    assert not (tmp_path / "a").exists() and not (tmp_path / "sub" / "b").exists()
    assert taken.read_bytes() == b"someone else's"
