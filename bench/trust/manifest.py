"""The records files a result document names, and where they lie beside it.

A run's `records.path` is relative to the document (`bench run` writes `NAME.json` with its
records in `NAME.records/`). A submission keeps that layout: `bench submit` copies each
records file to the same relative path beside the filed document, so the document's bytes
(and its signature) never change, and `bench verify`, `bench validate` and the index find
the records where the document says. The path is untrusted text: only a relative path that
stays below the document's directory, has no `.`/`..` part and is not itself a `.json`
(which the report would read as a document) or `.sig` file is followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bench.validate.findings import pointer, runs, sub

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
REFUSED_SUFFIXES = (".json", ".sig")


@dataclass(frozen=True)
class NamedRecords:
    """One records file as a document names it."""

    pointer: str  # JSON pointer of the run's `records` object
    path: str  # as written in the document
    sha256: str | None  # as stated in the document (None when it states none)
    relative: PurePosixPath | None  # the safe relative path, None when the path is refused
    refused: str  # why the path is not followed ("" when it is)

    def location(self, document_dir: Path) -> Path | None:
        """Where the file is (or would be filed) beside a document in `document_dir`."""
        return None if self.relative is None else document_dir.joinpath(*self.relative.parts)


def safe_relative(path: str) -> tuple[PurePosixPath | None, str]:
    """(the path, "") when it may be followed from the document's directory, else (None, why)."""
    if "\\" in path or "\x00" in path:
        return None, "has a backslash or NUL in it"
    rel = PurePosixPath(path)
    if rel.is_absolute():
        return None, "is absolute (it must be relative to the document)"
    if not rel.parts or any(part in ("", ".", "..") for part in rel.parts):
        return None, "has a `.` or `..` part (it must stay below the document's directory)"
    if rel.name.endswith(REFUSED_SUFFIXES):
        return None, "ends in .json or .sig (records are .jsonl)"
    return rel, ""


def named_records(doc: Any) -> list[NamedRecords]:
    """Every run's records file that the document names by path, in document order, then
    the sanity check's (`sanity.records`), each path once."""
    out: list[NamedRecords] = []
    seen: set[str] = set()
    holders = [*runs(doc)]
    if sub(doc, "sanity"):
        holders.append((("sanity",), sub(doc, "sanity")))
    for base, run in holders:
        records = sub(run, "records")
        path = records.get("path")
        if not isinstance(path, str) or not path or path in seen:
            continue
        seen.add(path)
        digest = records.get("sha256")
        digest = digest if isinstance(digest, str) and _SHA256.match(digest) else None
        relative, why = safe_relative(path)
        out.append(NamedRecords(pointer(*base, "records"), path, digest, relative, why))
    return out
