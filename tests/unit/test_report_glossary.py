"""The report's glossary and the metric table of docs/measuring.md are the same definitions."""

from __future__ import annotations

from bench.report import glossary


def _docs_metric_rows(repo) -> list[str]:
    text = (repo / "docs" / "measuring.md").read_text(encoding="utf-8")
    section = text[text.index("## Metric definitions") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return [line for line in section.splitlines() if line.startswith("| **")]


def test_every_documented_metric_row_is_in_the_glossary_word_for_word(repo):
    assert _docs_metric_rows(repo) == glossary.markdown_rows()


def test_the_statistics_note_matches_the_docs(repo):
    docs = " ".join((repo / "docs" / "measuring.md").read_text(encoding="utf-8").split())
    assert glossary.STATS_NOTE in docs


def test_rendered_glossary_has_the_table_and_the_report_terms():
    md = glossary.render()
    assert md.startswith("## Glossary")
    for row in glossary.markdown_rows():
        assert row in md
    for term, _ in glossary.REPORT_TERMS:
        assert f"**{term}**" in md
