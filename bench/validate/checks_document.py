"""Checks of the document as a whole: what it claims to be, and what it points at."""

from __future__ import annotations

from typing import Any

from bench.result import WORKLOAD_KEY_FIELDS, is_simulator
from bench.validate.findings import Issue, fmt, items, pointer, resolve, runs, sub

# Workload fields compared between what a publication describes and what its commands run.
DESCRIBED_FIELDS = (*WORKLOAD_KEY_FIELDS, "api")


def check_simulator_not_measured(doc: Any) -> list[Issue]:
    """A document whose server says it is the kit's simulator cannot be `measured`."""
    if doc.get("kind") != "measured":
        return []
    report = sub(sub(doc, "server"), "self_report")
    engine = sub(sub(doc, "software"), "engine").get("name")
    if is_simulator(report) or engine == "bench-sim":
        return [
            Issue(
                pointer("kind"),
                "kind is `measured` but the server reported it is the kit's simulator; "
                "use `simulated`",
            )
        ]
    return []


def check_unique_run_names(doc: Any) -> list[Issue]:
    """Every run has a name of its own (the report and `compare` key on it)."""
    seen: set[str] = set()
    out = []
    for base, run in runs(doc):
        name = run.get("name")
        if isinstance(name, str):
            if name in seen:
                out.append(Issue(pointer(*base, "name"), f"run name {name!r} is used twice"))
            seen.add(name)
    return out


def check_citation_pointers_resolve(doc: Any) -> list[Issue]:
    """Every transcribed figure points at a value that exists in the document."""
    out = []
    for i, figure in enumerate(items(sub(doc, "citation"), "figures")):
        ptr = figure.get("pointer") if isinstance(figure, dict) else None
        if isinstance(ptr, str) and not resolve(doc, ptr)[0]:
            out.append(
                Issue(
                    pointer("citation", "figures", i, "pointer"),
                    f"figure pointer {ptr!r} does not resolve to a value in this document",
                )
            )
    return out


def check_records_hashed(doc: Any) -> list[Issue]:
    """Measured and simulated runs name their raw records and the records' sha256."""
    if doc.get("kind") not in ("measured", "simulated"):
        return []
    out = []
    for base, run in runs(doc):
        records = sub(run, "records")
        if not records.get("sha256"):
            out.append(
                Issue(
                    pointer(*base, "records"),
                    "no sha256 of the raw records: the metrics cannot be checked against them",
                )
            )
    return out


def _show(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt(value)
    return "null" if value is None else repr(value)


def check_described_workload_matches(doc: Any) -> list[Issue]:
    """Where a publication describes one workload and its commands run another, say where."""
    out = []
    for base, run in runs(doc):
        described, ran = sub(run, "workload_as_described"), sub(run, "workload")
        if not described:
            continue
        for key in DESCRIBED_FIELDS:
            if key in described and described.get(key) != ran.get(key):
                actual = ran.get(key)
                runs_what = (
                    f"the commands run {_show(actual)} (workload.{key})"
                    if actual is not None
                    else f"the workload the commands run fixes none (workload.{key} is null)"
                )
                out.append(
                    Issue(
                        pointer(*base, "workload_as_described", key),
                        f"described {key} {_show(described[key])}, but {runs_what}",
                    )
                )
    return out


# Structure: always errors. Consistency: errors for measured/simulated, warnings for reported.
STRUCTURE_CHECKS = [
    check_simulator_not_measured,
    check_unique_run_names,
    check_citation_pointers_resolve,
]
CONSISTENCY_CHECKS = [check_described_workload_matches]
# Advice: always warnings (a document without raw records is incomplete, not wrong).
ADVICE_CHECKS = [check_records_hashed]
