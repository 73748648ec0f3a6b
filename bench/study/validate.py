"""Check a study document: its schema (`schema/study.schema.json`), then its consistency.

- `study_sha256` is the hash of `study`; every statistic agrees with the repeats it
  summarizes (n, mean, std, cv) and every interval holds its mean; a bootstrap interval is
  ordered; a cell is `done` exactly when every repeat is recorded, and `unstable` exactly
  when its output throughput's cv exceeds `cv_max`; the Pareto fronts and `ranked` flags
  are what the rule gives for the cells' means.
- Beside the document (`validate_study_file`): each repeat's result document is where the
  study says, with its sha256, and states the metrics the study recorded for it.
- With a `[search]`: `bench.study.search_validate` replays the search's decisions and
  recomputes its verdicts and answer, and checks each probe run's document beside it.
"""

from __future__ import annotations

import copy
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from bench.study.stats import HEADLINE_METRICS, STABILITY_METRIC, headline_values
from bench.validate.findings import Finding, Issue, pointer

SCHEMA_PATH = Path(__file__).with_name("study.schema.json")
REL_TOL = 1e-9


def is_study_document(doc: Any) -> bool:
    return isinstance(doc, dict) and "study_schema_version" in doc


@cache
def load_study_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def study_issues(doc: dict[str, Any]) -> list[Issue]:
    """Schema issues, then (when the schema holds) consistency issues."""
    from bench.validate.schema import issues_against

    found = issues_against(load_study_schema(), doc)
    if found:
        return found
    from bench.study.document import study_sha256

    if study_sha256(doc["study"]) != doc["study_sha256"]:
        found.append(Issue("/study_sha256", "is not the sha256 of `study`"))
    found += _cell_issues(doc)
    found += _pareto_issues(doc)
    from bench.study.search_validate import search_issues

    found += search_issues(doc)
    return found


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _cell_issues(doc: dict[str, Any]) -> list[Issue]:
    import numpy as np

    out = []
    repeats_wanted = doc["study"]["study"].get("repeats")
    cv_max = doc["study"]["study"].get("cv_max")
    for i, cell in enumerate(doc["cells"]):
        at = ("cells", i)
        indices = [r["repeat"] for r in cell["repeats"]]
        if len(set(indices)) < len(indices):
            out.append(Issue(pointer(*at, "repeats"), "a repeat index is recorded twice"))
        done = len(cell["repeats"]) == repeats_wanted
        if (cell["status"] == "done") != done:
            out.append(
                Issue(
                    pointer(*at, "status"),
                    f"is {cell['status']!r} with "
                    f"{len(cell['repeats'])} of {repeats_wanted} repeats recorded",
                )
            )
        for name in HEADLINE_METRICS:
            values = [r["metrics"][name] for r in cell["repeats"] if r["metrics"][name] is not None]
            stats = cell["statistics"][name]
            where = pointer(*at, "statistics", name)
            if stats is None:
                if values:
                    out.append(Issue(where, f"is null but {len(values)} repeat(s) give it"))
                continue
            if stats["n"] != len(values):
                out.append(Issue(where + "/n", f"is {stats['n']}; {len(values)} repeat(s) give it"))
                continue
            if not _close(stats["mean"], math.fsum(values) / len(values)):
                out.append(Issue(where + "/mean", "is not the mean of the repeats' values"))
            std = float(np.std(values, ddof=1)) if len(values) > 1 else None
            if not _close(stats["std"], std):
                out.append(Issue(where + "/std", "is not the sample std of the repeats' values"))
            low, high = stats["ci95_low"], stats["ci95_high"]
            if (low is None) != (high is None) or (low is None and len(values) > 1):
                out.append(Issue(where, "has half an interval, or none with several repeats"))
            elif low is not None and not low <= stats["mean"] <= high:
                out.append(Issue(where, f"interval [{low}, {high}] does not hold its mean"))
        for name, boot in cell["p99_bootstrap"].items():
            if boot is not None and not boot["ci95_low"] <= boot["ci95_high"]:
                out.append(Issue(pointer(*at, "p99_bootstrap", name), "interval is reversed"))
        cv = (cell["statistics"].get(STABILITY_METRIC) or {}).get("cv")
        unstable = cv is not None and cv_max is not None and cv > cv_max
        if cell["unstable"] != unstable:
            out.append(
                Issue(pointer(*at, "unstable"), f"disagrees with cv {cv} and cv_max {cv_max}")
            )
        invalid = any(not r["valid"] for r in cell["repeats"])
        if cell["invalid"] != invalid:
            out.append(Issue(pointer(*at, "invalid"), "disagrees with its repeats' `valid`"))
    return out


def _pareto_issues(doc: dict[str, Any]) -> list[Issue]:
    from bench.study.document import with_pareto

    cells = copy.deepcopy(doc["cells"])
    for c in cells:
        c["ranked"] = False
    fronts = with_pareto(cells)
    out = []
    for i, (mine, given) in enumerate(zip(cells, doc["cells"], strict=True)):
        if mine["ranked"] != given["ranked"]:
            out.append(Issue(pointer("cells", i, "ranked"), f"should be {mine['ranked']}"))
    if fronts != doc["pareto"]:
        out.append(Issue("/pareto", "is not the front the rule gives for the cells' means"))
    return out


def recorded_document_issue(
    base: Path, entry: dict[str, Any], where: str
) -> tuple[str, Issue] | None:
    """A run the study document records (`path`, `sha256`): a warning when its result
    document is gone, an error when its bytes changed, else None."""
    from bench.jsonio import sha256_file

    path = base / entry["path"]
    if not path.is_file():
        return ("warning", Issue(where, f"result document not found: {entry['path']}"))
    if sha256_file(path) != entry["sha256"]:
        return ("error", Issue(where, "the result document's sha256 differs"))
    return None


def beside_issues(doc: dict[str, Any], base: Path) -> list[tuple[str, Issue]]:
    """(level, issue) for each repeat's result document beside the study document."""
    from bench.errors import InputError
    from bench.jsonio import load_document

    out: list[tuple[str, Issue]] = []
    for i, cell in enumerate(doc["cells"]):
        for j, rep in enumerate(cell["repeats"]):
            where = pointer("cells", i, "repeats", j, "path")
            path = base / rep["path"]
            found = recorded_document_issue(base, rep, where)
            if found is not None:
                out.append(found)
                continue
            try:
                runs = load_document(path)["measurements"]["throughput"]
                stated = headline_values(runs[0]["metrics"])
            except (InputError, KeyError, IndexError, TypeError):
                out.append(("error", Issue(where, "has no throughput run to compare")))
                continue
            if any(not _close(stated[k], rep["metrics"].get(k)) for k in stated):
                out.append(("error", Issue(where, "states other metrics than the study records")))
    return out


def validate_study(doc: dict[str, Any], file: str, base: Path | None) -> list[Finding]:
    findings = [Finding(file, "error", i.pointer, i.message) for i in study_issues(doc)]
    if base is not None and not findings:
        from bench.study.search_validate import search_beside_issues

        beside = beside_issues(doc, base) + search_beside_issues(doc, base)
        findings += [Finding(file, lvl, i.pointer, i.message) for lvl, i in beside]  # type: ignore[arg-type]
    return findings
