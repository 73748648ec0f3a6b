"""Signatures of submissions: made with ssh-keygen, checked with the document's records.

Throwaway ed25519 keys in tmp; ssh-keygen does the cryptography, the kit decides what is
signed (the document's bytes), where the signature lies (DOCUMENT.json.sig) and what else
must hold (every records file the document names, with the sha256 it states).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import trust_kit as kit

from bench.cli import main
from bench.errors import BenchError
from bench.trust import sshsig
from bench.trust.verify import signature_path, verify_submission


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "keys"
    directory.mkdir()
    return {
        "alice": kit.keygen(directory, "alice"),
        "mallory": kit.keygen(directory, "mallory"),
        "bob": kit.keygen(directory, "bob", passphrase="correct horse"),
    }


@pytest.fixture
def allowed(tmp_path: Path, keys) -> Path:
    return kit.allowed_signers(
        tmp_path / "allowed_signers", {"alice@example.com": keys["alice"], "bob": keys["bob"]}
    )


@pytest.fixture
def signed(tmp_path: Path, keys) -> Path:
    """A measured document with two records files, signed by alice with the kit's code."""
    directory = tmp_path / "sub"
    directory.mkdir()
    doc = kit.measured_with_records(directory)
    signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), keys["alice"]))
    return doc


def test_a_signed_submission_verifies_and_names_its_signer(signed, allowed):
    result = verify_submission(signed, allowed)
    assert result.status == "verified", result.line()
    assert result.signer == "alice@example.com"
    assert result.key is not None and result.key.startswith("ED25519 SHA256:")
    assert [r.status for r in result.records] == ["match", "match"]
    assert result.failures == ()
    assert "verified: signed by alice@example.com" in result.line()
    assert "2 records files match" in result.line()


def test_a_signature_made_by_hand_with_ssh_keygen_verifies_too(tmp_path, keys, allowed):
    doc = kit.measured_with_records(tmp_path)
    kit.sign_file(doc, keys["alice"])
    assert verify_submission(doc, allowed).status == "verified"


def test_one_changed_byte_in_the_document_fails_naming_the_signature(signed, allowed):
    kit.flip_byte(signed, b"Li Wei")
    result = verify_submission(signed, allowed, display="results/x/run.json")
    assert result.status == "failed"
    assert result.note.startswith("results/x/run.json.sig: the signature does not verify")
    assert "changed after it was signed" in result.note


@pytest.mark.parametrize("section", ["throughput", "latency"])
def test_one_changed_byte_in_a_records_file_fails_naming_that_file(signed, allowed, section):
    records = signed.parent / "run.records" / f"{section}.jsonl"
    kit.flip_byte(records, b"1")
    result = verify_submission(signed, allowed, display="results/x/run.json")
    assert result.status == "failed"
    assert len(result.failures) == 1  # only that file: the signature itself still holds
    assert result.note.startswith(f"results/x/run.records/{section}.jsonl: sha256 ")
    assert "but the document states" in result.note
    statuses = {r.named.path.split("/")[-1]: r.status for r in result.records}
    assert statuses[f"{section}.jsonl"] == "differs"


def test_a_records_file_missing_beside_a_signed_document_fails(signed, allowed):
    (signed.parent / "run.records" / "latency.jsonl").unlink()
    result = verify_submission(signed, allowed)
    assert result.status == "failed"
    assert "latency.jsonl: named by the signed document, but not beside it" in result.note


def test_an_unknown_signer_is_reported_as_such(tmp_path, keys, allowed):
    doc = kit.measured_with_records(tmp_path)
    signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), keys["mallory"]))
    result = verify_submission(doc, allowed)
    assert result.status == "unknown-signer"
    assert result.signer is None and result.failures == ()
    assert result.key is not None and result.key in result.note
    assert "is not in the allowed signers" in result.note
    assert result.line().split(": ")[1] == "UNKNOWN SIGNER"


def test_an_unknown_signer_of_a_changed_document_is_a_failure(tmp_path, keys, allowed):
    doc = kit.measured_with_records(tmp_path)
    signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), keys["mallory"]))
    kit.flip_byte(doc, b"Li Wei")
    assert verify_submission(doc, allowed).status == "failed"


def test_a_signature_in_another_namespace_does_not_verify(tmp_path, keys, allowed):
    doc = kit.measured_with_records(tmp_path)
    kit.sign_file(doc, keys["alice"], namespace="git")  # a Git commit signature's namespace
    result = verify_submission(doc, allowed)
    assert result.status == "failed" and "ascend-bench-kit namespace" in result.note


def test_a_garbage_signature_fails_in_one_line(tmp_path, allowed):
    doc = kit.measured_with_records(tmp_path)
    signature_path(doc).write_text("-----BEGIN SSH SIGNATURE-----\nnot base64\n", "utf-8")
    result = verify_submission(doc, allowed)
    assert result.status == "failed"
    assert "\n" not in result.line() and "run.json.sig" in result.note


def test_an_oversized_signature_is_not_handed_to_ssh_keygen(tmp_path, allowed):
    doc = kit.measured_with_records(tmp_path)
    signature_path(doc).write_bytes(b"x" * (sshsig.MAX_SIGNATURE_BYTES + 1))
    result = verify_submission(doc, allowed)
    assert result.status == "failed" and "larger than" in result.note


def test_an_unsigned_document_says_so_and_is_judged_on_its_records(tmp_path, allowed):
    doc = kit.measured_with_records(tmp_path)
    result = verify_submission(doc, allowed)
    assert result.status == "unsigned" and result.failures == ()
    (tmp_path / "run.records" / "latency.jsonl").unlink()  # absent: fine when unsigned
    assert verify_submission(doc, allowed).failures == ()
    kit.flip_byte(tmp_path / "run.records" / "throughput.jsonl", b"1")  # changed: not fine
    changed = verify_submission(doc, allowed)
    assert changed.status == "unsigned" and "throughput.jsonl: sha256" in changed.failures[0]


def test_a_records_path_leaving_the_document_directory_is_not_followed(tmp_path, keys, allowed):
    doc = kit.measured_with_records(tmp_path / "sub")
    data = json.loads(doc.read_text("utf-8"))
    data["measurements"]["latency"][0]["records"]["path"] = "../../etc/passwd"
    doc.write_text(json.dumps(data), "utf-8")
    signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), keys["alice"]))
    result = verify_submission(doc, allowed)
    assert result.status == "failed"
    assert "'../../etc/passwd'" in result.note and "below the document's directory" in result.note
    signature_path(doc).unlink()  # unsigned: the path is not followed, and not held against it
    unsigned = verify_submission(doc, allowed)
    assert unsigned.status == "unsigned" and unsigned.failures == ()
    assert [r.status for r in unsigned.records] == ["match", "refused"]


def test_a_key_with_a_passphrase_fails_at_once_without_a_terminal(keys):
    with pytest.raises(BenchError) as err:
        sshsig.sign(b"{}", keys["bob"])
    message = str(err.value)
    assert "\n" not in message
    assert "passphrase" in message and f"ssh-add {keys['bob']}" in message
    assert "gave no answer" not in message  # it failed, it did not wait for the timeout


def test_a_key_with_a_passphrase_signs_through_ssh_agent(tmp_path, keys, allowed, monkeypatch):
    socket = tmp_path / "agent.sock"
    askpass = tmp_path / "askpass"
    askpass.write_text("#!/bin/sh\necho 'correct horse'\n", "utf-8")
    askpass.chmod(0o700)
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket), "SSH_ASKPASS": str(askpass)}
        env["SSH_ASKPASS_REQUIRE"] = "force"
        deadline = time.monotonic() + 20  # the socket appears within moments; bounded wait
        while not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run(
            ["ssh-add", str(keys["bob"])],
            env=env,
            check=True,
            timeout=30,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
        doc = kit.measured_with_records(tmp_path / "sub")
        signature_path(doc).write_bytes(sshsig.sign(doc.read_bytes(), keys["bob"]))
        result = verify_submission(doc, allowed)
        assert result.status == "verified" and result.signer == "bob"
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_without_ssh_keygen_a_signature_is_unchecked_not_passed(signed, allowed, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = verify_submission(signed, allowed)
    assert result.status == "unchecked" and "ssh-keygen not found" in result.note
    with pytest.raises(BenchError, match="ssh-keygen not found"):
        sshsig.sign(b"{}", signed)


# --- bench verify -------------------------------------------------------------------


def test_verify_command_exit_codes_and_lines(tmp_path, signed, keys, allowed, capsys):
    assert main(["verify", str(signed), "--allowed-signers", str(allowed)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{signed}: verified: signed by alice@example.com")
    assert out[-1] == "1 signed document(s) checked: 1 verified"
    kit.flip_byte(signed.parent / "run.records" / "latency.jsonl", b"1")
    assert main(["verify", str(signed), "--allowed-signers", str(allowed)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"{signed}: FAILED: {signed.parent}/run.records/latency.jsonl: sha256")


def test_verify_a_directory_checks_every_signed_document_and_orphan_signature(
    tmp_path, keys, allowed, capsys
):
    results = tmp_path / "results"
    good = kit.measured_with_records(results / "a", "good")
    signature_path(good).write_bytes(sshsig.sign(good.read_bytes(), keys["alice"]))
    stranger = kit.measured_with_records(results / "b", "stranger")
    signature_path(stranger).write_bytes(sshsig.sign(stranger.read_bytes(), keys["mallory"]))
    kit.measured_with_records(results / "c", "unsigned")  # not signed: not a directory's concern
    orphan = results / "d" / "gone.json.sig"
    orphan.parent.mkdir()
    orphan.write_text("x", "utf-8")
    assert main(["verify", str(results), "--allowed-signers", str(allowed)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(ln.startswith(f"{good}: verified") for ln in out)
    assert any(ln.startswith(f"{stranger}: UNKNOWN SIGNER: key ED25519 SHA256:") for ln in out)
    assert f"{orphan}: FAILED: its document gone.json is not there" in out
    assert out[-1] == "3 signed document(s) checked: 1 verified, 1 failed, 1 unknown-signer"


def test_verify_a_directory_without_signatures_is_not_an_error(tmp_path, allowed, capsys):
    kit.measured_with_records(tmp_path / "results")
    assert main(["verify", str(tmp_path / "results"), "--allowed-signers", str(allowed)]) == 0
    assert capsys.readouterr().out == "0 signed document(s) checked: 0 verified\n"


def test_verify_names_an_unsigned_document_it_was_given(tmp_path, allowed, capsys):
    doc = kit.measured_with_records(tmp_path)
    assert main(["verify", str(doc), "--allowed-signers", str(allowed)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"{doc}: UNSIGNED: no run.json.sig"


def test_verify_without_an_allowed_signers_file_is_a_usage_error(signed, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["verify", str(signed), "--allowed-signers", str(missing)]) == 2
    assert capsys.readouterr().err == f"Error: --allowed-signers: file not found: {missing}\n"
