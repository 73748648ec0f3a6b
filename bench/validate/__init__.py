"""Check result documents: the JSON Schema, then internal consistency.

    validate_document(doc, file) -> list[Finding]
    validate_file(path)          -> list[Finding]   (a file that cannot be read: one error)

Levels: schema violations, structural problems and disagreements with the run's own
records (when the records file is beside the document) are always `error`; consistency
findings are `error` for `measured` and `simulated` documents and `warning` for
`reported` ones (a publication's figures are kept, flagged). A sanity check below its
`min_accuracy` is a consistency error: a measured or simulated run whose answers were wrong
is invalid. Provenance checks (`checks_provenance`, `kit_commit`) apply to `measured`
documents. A document is valid when it has no `error`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.validate import (
    checks_bounds,
    checks_cache,
    checks_delivery,
    checks_document,
    checks_latency,
    checks_memory,
    checks_parallel,
    checks_provenance,
    checks_sanity,
    checks_telemetry,
    checks_throughput,
)
from bench.validate.findings import Finding, Issue
from bench.validate.kit_commit import kit_commit_issues
from bench.validate.records_check import UNREADABLE, records_issues
from bench.validate.schema import schema_issues

__all__ = [
    "CONSISTENCY_CHECKS",
    "Finding",
    "file_findings",
    "is_valid",
    "validate_document",
    "validate_file",
]

# The order is the order of the output.
CONSISTENCY_CHECKS = [
    *checks_throughput.CHECKS,
    *checks_latency.CHECKS,
    *checks_memory.CHECKS,
    *checks_parallel.CHECKS,
    *checks_bounds.CHECKS,
    *checks_delivery.CHECKS,
    *checks_cache.CHECKS,
    *checks_document.CONSISTENCY_CHECKS,
    *checks_sanity.CHECKS,
]
# Always warnings: what a reader should know about a valid document.
ADVICE_CHECKS = [
    *checks_document.ADVICE_CHECKS,
    *checks_delivery.ADVICE_CHECKS,
    *checks_provenance.ADVICE_CHECKS,
    *checks_sanity.ADVICE_CHECKS,
]


def validate_document(doc: Any, file: str = "-") -> list[Finding]:
    """Every finding for one parsed document."""
    if not isinstance(doc, dict):
        return [Finding(file, "error", "", "the top level is not a JSON object")]
    consistency = "warning" if doc.get("kind") == "reported" else "error"
    found: list[Finding] = []

    def add(issues: list[Issue], level: str) -> None:
        found.extend(Finding(file, level, i.pointer, i.message) for i in issues)  # type: ignore[arg-type]

    add(schema_issues(doc), "error")
    for check in [
        *checks_document.STRUCTURE_CHECKS,
        *checks_provenance.STRUCTURE_CHECKS,
        *checks_telemetry.STRUCTURE_CHECKS,
    ]:
        add(check(doc), "error")
    for check in [*CONSISTENCY_CHECKS, *checks_telemetry.CHECKS]:  # telemetry: docs/telemetry.md
        add(check(doc), consistency)
    for check in ADVICE_CHECKS:
        add(check(doc), "warning")
    return found


def validate_file(path: str | os.PathLike[str]) -> list[Finding]:
    """Load (strictly) and validate one file; a load failure is one error finding."""
    from bench.jsonio import load_document

    name = str(path)
    try:
        doc = load_document(path)
    except InputError as exc:
        message = str(exc)
        prefix = f"{name}: "
        return [Finding(name, "error", "", message.removeprefix(prefix))]
    from bench.study.validate import is_study_document, validate_study

    if is_study_document(doc):  # a study's study.json, beside its result documents
        return validate_study(doc, name, Path(path).resolve().parent)
    return validate_document(doc, name) + file_findings(doc, name, Path(path).resolve().parent)


def file_findings(doc: Any, name: str, base_dir: Path) -> list[Finding]:
    """What needs more than the document: the records beside it (same sha256, same metrics;
    the sanity records: same counts and verdicts) and, for a measured document, whether its
    kit commit is in the kit's git history."""
    findings = [
        Finding(
            name, "warning" if i.message.startswith(UNREADABLE) else "error", i.pointer, i.message
        )
        for i in [
            *records_issues(doc, base_dir),
            *checks_sanity.sanity_records_issues(doc, base_dir),
        ]
    ]
    findings += [Finding(name, level, i.pointer, i.message) for level, i in kit_commit_issues(doc)]
    findings += [
        Finding(name, "error", i.pointer, i.message)
        for i in checks_telemetry.timeline_issues(doc, base_dir)
    ]
    return findings


def is_valid(findings: list[Finding]) -> bool:
    return not any(f.level == "error" for f in findings)
