"""Checks of a study document's `search` section (after its schema held).

- Replay: the runs, in their `seq` order, are exactly what the search's pure decisions
  (`bench.slo.search.next_step`) ask for after the runs before them, and a `done` search
  is one the decisions call done.
- Every verdict, bound, figure and note is what the runs' `slo` facts give
  (`bench.study.search_doc.search_entry` recomputes the entry).
- Beside the document: each run's result document is there with its sha256, and its
  `slo` facts are what that document and its records say (`bench.slo.facts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.slo.search import next_step
from bench.slo.spec import parse_search
from bench.study.search_doc import history_of, search_entry
from bench.validate.findings import Issue, pointer


def _spec(doc: dict[str, Any]):
    return parse_search(doc["study"]["search"], "study.search")


def search_issues(doc: dict[str, Any]) -> list[Issue]:
    has_search = doc["study"].get("search") is not None
    if not has_search:
        return (
            [Issue("/search", "is here but the study has no [search]")] if "search" in doc else []
        )
    if "search" not in doc:
        return [Issue("/search", "is missing but the study has a [search]")]
    try:
        spec = _spec(doc)
    except InputError as exc:
        return [Issue("/study/search", str(exc))]
    out: list[Issue] = []
    for i, entry in enumerate(doc["search"]):
        runs = [r for p in entry["probes"] for r in p["runs"]]
        at = ("search", i)
        if sorted(r["seq"] for r in runs) != list(range(1, len(runs) + 1)):
            out.append(Issue(pointer(*at, "probes"), "run seq numbers are not 1..n"))
            continue
        for j, probe in enumerate(entry["probes"]):
            if any(
                r["load"] != probe["load"] or r["cell_id"] != probe["cell_id"]
                for r in probe["runs"]
            ):
                out.append(Issue(pointer(*at, "probes", j), "holds a run of another load or cell"))
        history = history_of(runs)
        for k in range(len(history)):
            step = next_step(spec, history[:k])
            if step.action == "done" or step.load != history[k][0]:
                asked = "to stop" if step.action == "done" else f"load {step.load:g}"
                out.append(
                    Issue(
                        pointer(*at, "probes"),
                        f"run {k + 1} is at load {history[k][0]:g}, but the search asks "
                        f"{asked} after the runs before it",
                    )
                )
                break
        if entry["status"] == "done" and next_step(spec, history).action != "done":
            out.append(Issue(pointer(*at, "status"), "is done, but the search asks for more runs"))
        state = {"status": entry["status"], "error": entry["error"]}
        expected = search_entry(
            spec, entry["configuration"], entry["workload"], entry["key"], runs, state
        )
        for field, value in expected.items():
            if entry.get(field) != value:
                out.append(
                    Issue(pointer(*at, field), "is not what the search's recorded runs give")
                )
    return out


def search_beside_issues(doc: dict[str, Any], base: Path) -> list[tuple[str, Issue]]:
    """(level, issue) for each probe run's result document beside the study document."""
    from bench.slo.facts import facts_of_document
    from bench.study.validate import recorded_document_issue

    if "search" not in doc or doc["study"].get("search") is None:
        return []
    spec = _spec(doc)
    out: list[tuple[str, Issue]] = []
    for i, entry in enumerate(doc["search"]):
        for j, probe in enumerate(entry["probes"]):
            for k, run in enumerate(probe["runs"]):
                where = pointer("search", i, "probes", j, "runs", k, "path")
                path = base / run["path"]
                found = recorded_document_issue(base, run, where)
                if found is not None:
                    out.append(found)
                    continue
                try:
                    facts = facts_of_document(path, spec.slo).as_dict()
                except InputError as exc:
                    out.append(("error", Issue(where, f"its SLO facts cannot be read: {exc}")))
                    continue
                if facts != run["slo"]:
                    out.append(
                        ("error", Issue(where, "its document and records give other SLO facts"))
                    )
    return out
