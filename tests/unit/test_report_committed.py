"""The committed results/REPORT.md, its plots and results/index.json are exactly what
`bench report` writes.

When this fails, run `make report` (or `python -m bench report`) and commit the result.
"""

from __future__ import annotations

import json

from bench.report.build import build_report, differences


def test_committed_report_is_up_to_date_with_results(repo):
    results = repo / "results"
    out = results / "REPORT.md"
    report = build_report(results, out)
    stale = differences(report, out)
    assert stale == [], f"out of date (run `make report` and commit): {stale}"


def test_committed_index_is_current_and_lists_every_document(repo):
    results = repo / "results"
    report = build_report(results, results / "REPORT.md")
    assert (results / "index.json").read_bytes() == report.index
    listed = [s["path"] for s in json.loads(report.index)["submissions"]]
    documents = sorted(
        p.relative_to(results).as_posix() for p in results.rglob("*.json") if p.name != "index.json"
    )
    assert listed == documents and documents
