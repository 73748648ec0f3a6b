"""The report and `index.json` show each submission as signed by whom, unsigned, or failing.

A results directory is built in tmp with four submissions: signed by a known key, signed by
an unknown key, signed and then changed by one byte, and unsigned; `allowed_signers` beside
them lists the known key, as results/allowed_signers does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import report_docs as docs
import trust_kit as kit

from bench.cli import main
from bench.report.build import build_report, differences, write_report
from bench.report.results import find_result_files, load_entries
from bench.trust import sshsig
from bench.trust.verify import signature_path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    alice, mallory = kit.keygen(keys, "alice"), kit.keygen(keys, "mallory")
    directory = tmp_path / "results"
    directory.mkdir()
    kit.allowed_signers(directory / "allowed_signers", {"alice@example.com": alice})
    for name, key in (("a-verified", alice), ("b-stranger", mallory), ("c-changed", alice)):
        doc = kit.measured_with_records(directory / name, name, submitter=name)
        signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), key))
    kit.flip_byte(directory / "c-changed" / "c-changed.records" / "latency.jsonl", b"1")
    kit.measured_with_records(directory / "d-unsigned", "d-unsigned", submitter="d-unsigned")
    return directory


def _entries(results: Path) -> dict[str, object]:
    return {e.link.split("/")[0]: e for e in load_entries(results, results, None)}


def test_each_result_is_signed_by_whom_unsigned_or_failing(results):
    entries = _entries(results)
    assert entries["a-verified"].trust.status == "verified"
    assert entries["b-stranger"].trust.status == "unknown-signer"
    assert entries["c-changed"].trust.status == "failed"
    assert entries["d-unsigned"].trust.status == "unsigned"
    assert [k for k, e in entries.items() if not e.valid] == ["c-changed"]
    (failure,) = entries["c-changed"].errors
    assert failure.message.startswith("c-changed/c-changed.records/latency.jsonl: sha256 ")


def test_the_report_shows_the_signer_and_lists_a_failing_result_as_invalid(results):
    md = build_report(results, results / "REPORT.md", None).markdown
    assert "- signature: signed by alice@example.com (`ED25519 SHA256:" in md
    assert "- signature: signed by a key not in allowed\\_signers (`ED25519 SHA256:" in md
    assert "- signature: ✗ verification failed: c-changed/c-changed.records/latency.jsonl" in md
    assert "- signature: unsigned" in md
    invalid = md[md.index("## Invalid results") : md.index("## Details")]
    assert "c-changed/c-changed.json" in invalid and "a-verified" not in invalid


def test_the_index_lists_every_submission_with_hashes_signer_and_status(results):
    index = json.loads(build_report(results, results / "REPORT.md", None).index)
    assert index["format"] == "ascend-bench-kit results index 1"
    rows = {s["path"]: s for s in index["submissions"]}
    assert (
        list(rows)
        == sorted(rows)
        == [
            "a-verified/a-verified.json",
            "b-stranger/b-stranger.json",
            "c-changed/c-changed.json",
            "d-unsigned/d-unsigned.json",
        ]
    )
    a = rows["a-verified/a-verified.json"]
    assert a["sha256"] == sha256_of(results / "a-verified" / "a-verified.json")
    assert a["status"] == "valid" and a["kind"] == "measured" and a["submitter"] == "a-verified"
    assert a["signature"]["status"] == "verified"
    assert a["signature"]["signer"] == "alice@example.com"
    assert a["signature"]["path"] == "a-verified/a-verified.json.sig"
    assert a["signature"]["sha256"] == sha256_of(results / "a-verified" / "a-verified.json.sig")
    assert [(r["path"], r["status"]) for r in a["records"]] == [
        ("a-verified.records/throughput.jsonl", "match"),
        ("a-verified.records/latency.jsonl", "match"),
    ]
    assert rows["b-stranger/b-stranger.json"]["signature"]["signer"] is None
    assert rows["b-stranger/b-stranger.json"]["signature"]["status"] == "unknown-signer"
    changed = rows["c-changed/c-changed.json"]
    assert changed["status"] == "invalid" and changed["signature"]["status"] == "failed"
    assert [r["status"] for r in changed["records"]] == ["match", "differs"]
    assert rows["d-unsigned/d-unsigned.json"]["signature"]["status"] == "unsigned"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_runs_write_identical_index_bytes(results, tmp_path):
    first = build_report(results, results / "REPORT.md", None)
    second = build_report(results, results / "REPORT.md", None)
    assert first.index == second.index and first.markdown == second.markdown
    assert main(["report", "--results", str(results), "--baseline", "none"]) == 0
    written = (results / "index.json").read_bytes()
    assert main(["report", "--results", str(results), "--baseline", "none"]) == 0
    assert (results / "index.json").read_bytes() == written == first.index
    assert b"/tmp" not in written and str(tmp_path).encode() not in written


def test_the_index_is_never_read_as_a_result_and_check_sees_it_stale(results, capsys):
    write_report(build_report(results, results / "REPORT.md", None), results / "REPORT.md")
    assert results / "index.json" not in find_result_files(results)
    assert main(["validate", str(results)]) == 1  # c-changed's records differ, nothing else
    out = capsys.readouterr().out
    assert "index.json" not in out and "4 file(s) checked: 3 valid, 1 invalid" in out
    index = results / "index.json"
    index.write_bytes(index.read_bytes().replace(b'"valid"', b'"VALID"', 1))
    assert differences(build_report(results, results / "REPORT.md", None), results / "REPORT.md")
    assert main(["report", "--results", str(results), "--baseline", "none", "--check"]) == 1
    assert "index.json" in capsys.readouterr().out


def test_report_refuses_to_replace_an_index_it_did_not_write(tmp_path, capsys):
    directory = tmp_path / "results"
    docs.write(directory, "m.json", docs.measured())
    (directory / "index.json").write_text('{"mine": true}\n', "utf-8")
    assert main(["report", "--results", str(directory)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (directory / "index.json").read_text("utf-8") == '{"mine": true}\n'
    assert not (directory / "REPORT.md").exists()
