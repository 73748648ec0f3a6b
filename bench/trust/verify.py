"""One submission checked as a whole: its signature, and every records file it names.

    verify_submission(document, allowed_signers, display) -> Verification

Status, in one word:
- `verified`: `DOCUMENT.sig` verifies for a principal of allowed_signers, and every records
  file the document names is beside it with the sha256 the document states;
- `unknown-signer`: the signature is good, but its key is in no line of allowed_signers;
- `failed`: the signature does not verify, cannot be read, or a records file is absent,
  refused or changed (the reason names the file);
- `unsigned`: no `DOCUMENT.sig`;
- `unchecked`: a signature is there but cannot be checked on this machine (no ssh-keygen).
A failed submission is invalid in the report. An unsigned one is judged as before, except
that a records file that is there and differs from the stated sha256 is a failure too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bench.errors import BenchError, InputError
from bench.jsonio import MAX_DOCUMENT_BYTES, parse_document, sha256_file
from bench.trust import sshsig
from bench.trust.manifest import NamedRecords, named_records

SIGNATURE_SUFFIX = ".sig"
ALLOWED_SIGNERS = "allowed_signers"  # in the results directory


@dataclass(frozen=True)
class RecordsCheck:
    named: NamedRecords
    status: str  # 'match' | 'differs' | 'absent' | 'refused' | 'unhashed'
    sha256: str | None  # of the file found, when found
    display: str  # the file as messages name it

    def problem(self, signed: bool) -> str | None:
        """Why this records file fails the submission, or None. A file that is absent, or
        whose path is not followed, fails only a signed submission (the signer filed the
        records with it); one that is there with another sha256 fails any."""
        if self.status == "differs":
            return (
                f"{self.display}: sha256 {(self.sha256 or '')[:16]}…, but the document states "
                f"{(self.named.sha256 or '')[:16]}… (changed after the run?)"
            )
        if self.status == "refused" and signed:
            return f"records path {self.named.path!r} {self.named.refused}"
        if self.status == "absent" and signed:
            return f"{self.display}: named by the signed document, but not beside it"
        return None


@dataclass(frozen=True)
class Verification:
    document: str  # as messages name it
    signature: str | None  # the signature file as messages name it, None when unsigned
    signature_sha256: str | None
    status: str  # 'verified' | 'unknown-signer' | 'failed' | 'unsigned' | 'unchecked'
    signer: str | None  # principal(s) of allowed_signers, when verified
    key: str | None  # `TYPE SHA256:...` of the signing key, when ssh-keygen named it
    note: str  # why the status is what it is, one line ('' when verified or unsigned)
    failures: tuple[str, ...]  # what makes the submission invalid, one line each
    records: tuple[RecordsCheck, ...]

    def line(self) -> str:
        """One line for `bench verify`."""
        found = sum(1 for r in self.records if r.status == "match")
        if self.status == "verified":
            return (
                f"{self.document}: verified: signed by {self.signer} ({self.key or 'key unknown'});"
                f" {found} records file{'s' if found != 1 else ''} match"
            )
        if self.status == "unsigned":
            note = f"no {Path(self.document).name}{SIGNATURE_SUFFIX}"
            if self.failures:
                note += f"; {self.failures[0]}"
        else:
            note = self.note
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"{self.document}: {self.status.upper().replace('-', ' ')}: {note}{more}"


def signature_path(document: Path) -> Path:
    return document.with_name(document.name + SIGNATURE_SUFFIX)


def check_records(
    named: list[NamedRecords], document_dir: Path, display_dir: PurePosixPath
) -> tuple[RecordsCheck, ...]:
    out = []
    for item in named:
        display = (display_dir / item.path).as_posix() if item.relative else item.path
        location = item.location(document_dir)
        if location is None:
            out.append(RecordsCheck(item, "refused", None, display))
        elif not location.is_file() or location.is_symlink():
            out.append(RecordsCheck(item, "absent", None, display))
        else:
            digest = sha256_file(location)
            if item.sha256 is None:
                status = "unhashed"
            else:
                status = "match" if digest == item.sha256 else "differs"
            out.append(RecordsCheck(item, status, digest, display))
    return tuple(out)


def _read(path: Path, limit: int, shown: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{shown}: larger than {limit} bytes")
    return data


def verify_submission(
    document: Path, allowed_signers: Path | None, display: str | None = None
) -> Verification:
    """Check `document`'s signature (if any) and records. Never raises for what it finds;
    a document that cannot be read at all raises InputError."""
    shown = display if display is not None else document.as_posix()
    data = _read(document, MAX_DOCUMENT_BYTES, shown)
    unlisted = ""
    try:
        named = named_records(parse_document(data, shown))
    except InputError as exc:
        named, unlisted = [], f"its records cannot be listed: {exc}"
    records = check_records(named, document.parent, PurePosixPath(shown).parent)
    sig = signature_path(document)
    if not sig.is_file():
        failures = tuple(p for r in records if (p := r.problem(signed=False)))
        return Verification(shown, None, None, "unsigned", None, None, "", failures, records)
    sig_shown = shown + SIGNATURE_SUFFIX
    sig_sha = sha256_file(sig)
    try:
        _read(sig, sshsig.MAX_SIGNATURE_BYTES, sig_shown)
        result = sshsig.check(data, sig, allowed_signers)
    except sshsig.SshKeygenMissing as exc:
        failures = tuple(p for r in records if (p := r.problem(signed=False)))
        return Verification(
            shown, sig_shown, sig_sha, "unchecked", None, None, str(exc), failures, records
        )
    except BenchError as exc:  # too large, unreadable, or ssh-keygen gave no answer
        result = sshsig.SignatureCheck(
            "failed", None, None, str(exc).removeprefix(f"{sig_shown}: ")
        )
    failures = [f"{sig_shown}: {result.reason}"] if result.status == "failed" else []
    failures += [p for r in records if (p := r.problem(signed=True))]
    if unlisted:
        failures.append(f"{shown}: {unlisted}")
    status = "failed" if failures else result.status
    note = failures[0] if failures else result.reason
    return Verification(
        shown, sig_shown, sig_sha, status, result.signer, result.key, note, tuple(failures), records
    )
