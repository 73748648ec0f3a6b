"""`index.json`: every submission in the results, with its hashes, signer and status.

Written by `bench report` beside the report, rebuilt from the documents each time, so a
pull request that adds a result shows in its diff what changed in the index. It is
deterministic: submissions sorted by path, keys in a fixed order, no clock and no machine
path (paths are relative to the index's directory, POSIX), text from documents cleaned and
truncated like the report's. The same results give the same bytes.

One submission:

    path, sha256          the document, and the sha256 of its bytes
    kind, submitter, created_utc
    status                `valid` or `invalid` (errors from the validator, or from the
                          signature and records checks: see bench.trust.verify)
    errors, warnings      how many findings of each level
    signature             {path, sha256, status, signer, key, note}; status is `verified`,
                          `unknown-signer`, `failed`, `unsigned` or `unchecked`
    records               [{path, sha256, status}]: each records file as the document names
                          it, the sha256 it states, and `match`, `differs`, `absent`,
                          `refused` or `unhashed` (the document states no sha256)
"""

from __future__ import annotations

import json
from typing import Any

from bench.jsonio import dumps
from bench.report import text
from bench.report.results import ResultEntry
from bench.report.rows import dig

INDEX_FORMAT = "ascend-bench-kit results index 1"
TEXT_LIMIT = 200


def _text(value: object) -> str | None:
    return text.clean(value, TEXT_LIMIT) if isinstance(value, str) else None


def _signature(entry: ResultEntry) -> dict[str, Any]:
    trust = entry.trust
    if trust is None:
        return {"path": None, "sha256": None, "status": "unchecked", "signer": None,
                "key": None, "note": "not checked"}  # fmt: skip
    return {
        "path": trust.signature,
        "sha256": trust.signature_sha256,
        "status": trust.status,
        "signer": _text(trust.signer),
        "key": _text(trust.key),
        "note": _text(trust.note) or None,
    }


def _records(entry: ResultEntry) -> list[dict[str, Any]]:
    if entry.trust is None:
        return []
    return [
        {"path": _text(r.named.path), "sha256": r.named.sha256, "status": r.status}
        for r in entry.trust.records
    ]


def submission(entry: ResultEntry) -> dict[str, Any]:
    doc = entry.doc or {}
    return {
        "path": entry.link,
        "sha256": entry.sha256,
        "kind": entry.kind,
        "submitter": _text(dig(doc, "submitter", "name")),
        "created_utc": _text(doc.get("created_utc")),
        "status": "valid" if entry.valid else "invalid",
        "errors": len(entry.errors),
        "warnings": len(entry.warnings),
        "signature": _signature(entry),
        "records": _records(entry),
    }


def render_index(entries: list[ResultEntry]) -> bytes:
    """The index of every entry read from the results directory (the baseline too when it
    is there; not when it was read from elsewhere)."""
    inside = sorted((e for e in entries if e.in_results), key=lambda e: e.link)
    index = {
        "format": INDEX_FORMAT,
        "generated_by": "python -m bench report (do not edit: it is rebuilt from the documents)",
        "submissions": [submission(e) for e in inside],
    }
    return (dumps(index) + "\n").encode("utf-8")


def is_index(data: bytes) -> bool:
    """Whether `data` is an index this module wrote (so `bench report` may replace it)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(value, dict) and value.get("format") == INDEX_FORMAT
