"""The per-request records a result document's run names, read only after their sha256
matches the one the document states (so per-request statistics are never computed from a
file changed since the run). Used by the SLO search (attainment, goodput) and
`bench compare` (bootstrap over requests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.records import Record, named_file


def records_path(run: dict[str, Any], document: Path) -> Path | None:
    """Where the run's records are (a path relative to the document's directory, or
    absolute); None when the run names none."""
    records = run.get("records") if isinstance(run, dict) else None
    return named_file(records.get("path"), document.parent) if isinstance(records, dict) else None


def verified_records(run: dict[str, Any], document: Path) -> list[Record]:
    """The run's measured (non-warm-up) records; an InputError when the file is missing,
    is not in the kit's records format, or its sha256 is not the one the document names."""
    from bench.jsonio import sha256_file
    from bench.records import RECORDS_FORMAT, read_records

    path = records_path(run, document)
    if path is None:
        raise InputError(f"{document}: run {run.get('name')!r} names no records file")
    records = run["records"]
    if records.get("format") != RECORDS_FORMAT:
        raise InputError(f"{path}: records in format {records.get('format')!r}, not the kit's own")
    if not path.is_file():
        raise InputError(f"{document}: records file not found: {path}")
    if sha256_file(path) != records.get("sha256"):
        raise InputError(
            f"{path}: sha256 differs from the one {document.name} names (changed since the run)"
        )
    return [r for r in read_records(path) if not r.warmup]
