"""What `bench submit` files beside a document: its records, and its signature.

Each records file the document names is read from beside the submitted document, checked
against the sha256 the document states, and planned for the same relative path beside the
filed document (see `manifest`). Nothing is written until every file is known to be
writable; files are then created one by one, never replacing an existing one, the document
last, and a failure part-way removes what this submission created.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.jsonio import write_atomic
from bench.trust.manifest import NamedRecords, named_records


@dataclass(frozen=True)
class RecordsCopy:
    named: NamedRecords
    source: Path | None  # beside the submitted document (None: the path is refused)
    destination: Path | None  # beside the filed document
    data: bytes | None  # as read and hashed, when found
    status: str  # 'copy' | 'filed' (the same bytes are there) | 'missing' | 'refused'
    # | 'differs' (sha256 not the stated one) | 'clash' (another file holds its name)


def plan_records(doc: Any, source_dir: Path, dest_dir: Path) -> tuple[RecordsCopy, ...]:
    """Every records file the document names: read, hashed, and given a destination."""
    out = []
    for item in named_records(doc):
        source, dest = item.location(source_dir), item.location(dest_dir)
        if source is None or dest is None:
            out.append(RecordsCopy(item, None, None, None, "refused"))
            continue
        if not source.is_file():
            out.append(RecordsCopy(item, source, dest, None, "missing"))
            continue
        data = source.read_bytes()
        if item.sha256 is not None and hashlib.sha256(data).hexdigest() != item.sha256:
            status = "differs"
        elif dest.exists():
            status = "filed" if dest.is_file() and dest.read_bytes() == data else "clash"
        else:
            status = "copy"
        out.append(RecordsCopy(item, source, dest, data, status))
    return tuple(out)


def records_refusal(copies: tuple[RecordsCopy, ...], *, signing: bool) -> str | None:
    """Why the records stop a submission, in one line; None when they do not."""
    for c in copies:
        if c.status == "refused" and signing:
            return (
                f"records path {c.named.path!r} {c.named.refused}: --sign files the document "
                "with every records file it names; not filed"
            )
        if c.status == "differs":
            return (
                f"{c.source} does not have the sha256 the document states for it "
                "(changed after the run?); not filed"
            )
        if c.status == "clash":
            return (
                f"{c.destination} already exists with other contents (another submission's "
                "records of the same name); not filed: run again with another --out name"
            )
        if c.status == "missing" and signing:
            return (
                f"{c.source} is not there: --sign files the document with every records file "
                "it names (keep the run's .records directory beside it); not filed"
            )
    return None


def create_all(files: list[tuple[Path, bytes]]) -> list[Path]:
    """Create every file (none may exist), in order; on any failure remove those created
    here and re-raise, so a submission is filed whole or not at all."""
    created: list[Path] = []
    try:
        for path, data in files:
            created.append(write_atomic(path, data, overwrite=False))
    except BaseException:
        for path in reversed(created):
            path.unlink(missing_ok=True)
        raise
    return created


def inside(path: Path, root: Path) -> None:
    """Refuse a destination outside `root` (after resolving links)."""
    if root.resolve() not in path.resolve().parents:
        raise BenchError(f"refusing to write outside {root}: {path}")
