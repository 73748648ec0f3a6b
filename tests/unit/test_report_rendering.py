"""The report parsed by a real Markdown parser (CommonMark + GitHub tables, raw HTML on, as
GitHub parses before it sanitises): hostile submissions change no table and add no markup.

This is an oracle independent of the kit's escaping: markdown-it-py decides what is a
cell, a link or raw HTML, not the kit's own regular expressions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import report_docs as docs
from markdown_it import MarkdownIt

from bench.report.build import build_report
from bench.report.compose import MARKER

# The only raw HTML the report itself writes: anchors and collapsed details.
OWN_HTML = re.compile(
    r'^(<a id="r\d+">|</a>|<a id="r\d+"></a>|</?details>|<summary>[^<>]*</summary>|'
    + re.escape(MARKER)
    + ")$"
)
OWN_LINK = re.compile(r"^(#r\d+|[\w./-]+\.json)$")


def _parse(markdown: str):
    return MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)


def _hostile_results(directory: Path) -> Path:
    for i, name in enumerate(sorted(docs.HOSTILE_NAMES.values())):
        doc = docs.with_submitter(docs.measured(), name)
        doc["title"] = name
        doc["notes"] = f"[click](javascript:alert(1)) ![x](http://evil/x.png) {name}"
        doc["software"]["engine"]["version"] = name
        doc["model"]["revision"] = "`</details><script>alert(1)</script>`"
        doc["measurements"]["throughput"][0]["name"] = f"run|{i}<b>"
        docs.write(directory, f"hostile-{i}.json", doc)
    return directory


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    directory = _hostile_results(tmp_path_factory.mktemp("hostile") / "results")
    report = build_report(directory, directory / "REPORT.md", docs.ARTICLE)
    return _parse(report.markdown)


def _tables(tokens) -> list[list[list[str]]]:
    """Every table as rows of cell texts, as the parser split them."""
    tables: list[list[list[str]]] = []
    cell: list[str] | None = None
    for tok in tokens:
        if tok.type == "table_open":
            tables.append([])
        elif tok.type == "tr_open":
            tables[-1].append([])
        elif tok.type in ("th_open", "td_open"):
            cell = []
        elif tok.type == "inline" and cell is not None:
            cell.append("".join(c.content for c in tok.children or [] if c.type == "text"))
        elif tok.type in ("th_close", "td_close"):
            tables[-1][-1].append("".join(cell or []))
            cell = None
    return tables


def test_hostile_text_stays_inside_its_cell(tokens):
    tables = _tables(tokens)
    assert len(tables) >= 4
    checked = 0
    for header, *body in tables:
        assert all(len(row) == len(header) for row in body)
        if "submitter" in header:
            date = header.index("date")
            for row in body:  # a pipe that escaped its cell would push text into `date`
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}|—", row[date]), row
                checked += 1
        if "ok/sent" in header:
            for row in body:
                assert re.fullmatch(r"\d+/\d+|—", row[header.index("ok/sent")]), row
    assert checked >= len(docs.HOSTILE_NAMES)


def test_the_only_raw_html_is_the_reports_own(tokens):
    html = [t.content.strip() for t in tokens if t.type == "html_block"]
    html += [c.content for t in tokens if t.children for c in t.children if c.type == "html_inline"]
    for block in html:
        for line in block.splitlines():
            assert OWN_HTML.match(line.strip()), line


def test_links_and_images_are_only_the_reports_own(tokens):
    links, images = [], []
    for tok in tokens:
        for child in tok.children or []:
            if child.type == "link_open":
                links.append(child.attrGet("href"))
            elif child.type == "image":
                images.append(child.attrGet("src"))
    assert links and all(OWN_LINK.match(href) for href in links), links
    assert all(src.startswith("REPORT-plots/") for src in images), images
