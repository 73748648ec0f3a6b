"""Filing a community result under results/, by convention and never over another file.

    results/<hardware>/<model>/<engine>/<date>-<submitter>-<short-hash>.json

Every component is a slug (lower-case ASCII letters, digits, `.`, `-`; never empty, never
`.` or `..`), so a document cannot choose where it lands beyond its own directory. The
file is copied byte for byte (the short hash is of those bytes) and created with an atomic
create-if-absent, so an existing file is never replaced.
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


def plan(source: Path, results_dir: Path) -> Submission:
    """Read and validate `source` and work out its destination; writes nothing.

    The bytes are read once: what is validated is what is hashed and what is filed.
    A file that is not a readable JSON document raises InputError (one line).
    """
    from bench.jsonio import MAX_DOCUMENT_BYTES, parse_document
    from bench.validate import validate_document

    if not source.is_file():
        raise BenchError(f"result file not found: {source}")
    with source.open("rb") as f:
        data = f.read(MAX_DOCUMENT_BYTES + 1)
    doc = parse_document(data, str(source))
    issues = tuple(
        Issue(str(f.level), str(f.pointer), str(f.message))
        for f in validate_document(doc, file=str(source))
    )
    dest = results_dir / relative_destination(doc, hashlib.sha256(data).hexdigest())
    return Submission(source, dest, kind_of(doc), issues, data)


def refuse_reason(sub: Submission, *, allow_simulated: bool = False) -> str | None:
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
    return None


def file_submission(sub: Submission, results_dir: Path) -> Path:
    """Create `sub.destination` with the submitted bytes; never replace an existing file."""
    dest = sub.destination
    root = results_dir.resolve()
    if root not in dest.resolve().parents:
        raise BenchError(f"refusing to write outside {results_dir}: {dest}")
    from bench.jsonio import write_atomic

    return write_atomic(dest, sub.data, overwrite=False)
