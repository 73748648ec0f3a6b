"""The committed results/REPORT.md and its plots are exactly what `bench report` writes.

When this fails, run `make report` (or `python -m bench report`) and commit the result.
"""

from __future__ import annotations

from bench.report.build import build_report, differences


def test_committed_report_is_up_to_date_with_results(repo):
    results = repo / "results"
    out = results / "REPORT.md"
    report = build_report(results, out)
    stale = differences(report, out)
    assert stale == [], f"out of date (run `make report` and commit): {stale}"
