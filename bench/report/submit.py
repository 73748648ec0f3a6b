"""Filing a community result under results/, by convention and never over another file.

    results/<hardware>/<model>/<engine>/<date>-<submitter>-<short-hash>.json
    results/<hardware>/<model>/<engine>/<records path the document names>   (its records)
    results/<hardware>/<model>/<engine>/<date>-<submitter>-<short-hash>.json.sig  (--sign)

Every component is a slug (lower-case ASCII letters, digits, `.`, `-`; never empty, never
`.` or `..`), so a document cannot choose where it lands beyond its own directory. The
file is copied byte for byte (the short hash is of those bytes) and created with an atomic
create-if-absent, so an existing file is never replaced. Its records files go to the
relative paths the document names (`bench.trust.filing`), so the document, and a signature
of it, stay valid where they are filed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.report.results import HasIssues, Issue, kind_of
from bench.report.rows import dig
from bench.trust.filing import RecordsCopy, create_all, inside, plan_records, records_refusal
from bench.trust.verify import signature_path

SLUG_LIMIT = 40
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def slug(value: object, fallback: str, limit: int = SLUG_LIMIT) -> str:
    """A safe path component: `Qwen/Qwen2-7B-Instruct` -> `qwen-qwen2-7b-instruct`."""
    s = unicodedata.normalize("NFKD", "" if value is None else str(value))
    s = s.encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9.]+", "-", s)
    s = re.sub(r"\.{2,}", ".", s)
    s = s[:limit].strip("-.")
    return s or fallback


def hardware_slug(doc: dict) -> str:
    acc = dig(doc, "system", "accelerator") or {}
    name = acc.get("name") or dig(doc, "system", "product")
    count = acc.get("count")
    label = f"{name}-x{count}" if name and isinstance(count, int) else name
    return slug(label, "unknown-hardware")


def relative_destination(doc: dict, sha256: str) -> Path:
    """Where a document belongs under the results directory."""
    created = doc.get("created_utc")
    date = created[:10] if isinstance(created, str) and _DATE.match(created) else "undated"
    name = f"{date}-{slug(dig(doc, 'submitter', 'name'), 'anonymous', 32)}-{sha256[:12]}.json"
    return Path(
        hardware_slug(doc),
        slug(dig(doc, "model", "id"), "unknown-model"),
        slug(dig(doc, "software", "engine", "name"), "unknown-engine"),
        name,
    )


@dataclass(frozen=True)
class Submission(HasIssues):
    source: Path
    destination: Path
    kind: str
    issues: tuple[Issue, ...]
    data: bytes  # the file's bytes as validated
    records: tuple[RecordsCopy, ...] = ()  # the records files it names, planned


def plan(source: Path, results_dir: Path) -> Submission:
    """Read and validate `source` and work out its destination; writes nothing.

    The bytes are read once: what is validated is what is hashed and what is filed.
    A file that is not a readable JSON document raises InputError (one line).
    """
    from bench.jsonio import MAX_DOCUMENT_BYTES, parse_document
    from bench.validate import file_findings, validate_document

    if not source.is_file():
        raise BenchError(f"result file not found: {source}")
    with source.open("rb") as f:
        data = f.read(MAX_DOCUMENT_BYTES + 1)
    doc = parse_document(data, str(source))
    findings = validate_document(doc, file=str(source))
    findings += file_findings(doc, str(source), source.resolve().parent)
    issues = tuple(Issue(str(f.level), str(f.pointer), str(f.message)) for f in findings)
    dest = results_dir / relative_destination(doc, hashlib.sha256(data).hexdigest())
    records = plan_records(doc, source.resolve().parent, dest.parent)
    return Submission(source, dest, kind_of(doc), issues, data, records)


def refuse_reason(
    sub: Submission, *, allow_simulated: bool = False, signing: bool = False
) -> str | None:
    """Why a submission cannot be filed, in one line; None when it can."""
    if sub.errors:
        n = len(sub.errors)
        return f"{sub.source} is invalid ({n} error{'s' if n != 1 else ''}); not filed"
    if sub.kind == "simulated" and not allow_simulated:
        return (
            f"{sub.source} is a simulated result (run against the kit's simulator, not "
            "hardware); results/ holds measured and reported results (--allow-simulated "
            "files it anyway, for examples)"
        )
    if sub.destination.exists():
        return f"{sub.destination} already exists; not overwritten (was this result filed before?)"
    if signing and signature_path(sub.destination).exists():
        return f"{signature_path(sub.destination)} already exists; not overwritten"
    return records_refusal(sub.records, signing=signing)


def file_submission(sub: Submission, results_dir: Path, signature: bytes | None = None) -> Path:
    """Create the records files that are not filed yet, the signature (when given) and
    `sub.destination` with the submitted bytes, in that order; never replace a file, and
    remove what was created when any of it fails."""
    files = [
        (c.destination, c.data)
        for c in sub.records
        if c.status == "copy" and c.destination is not None and c.data is not None
    ]
    if signature is not None:
        files.append((signature_path(sub.destination), signature))
    files.append((sub.destination, sub.data))
    for path, _data in files:
        inside(path, results_dir)
    create_all(files)
    return sub.destination
