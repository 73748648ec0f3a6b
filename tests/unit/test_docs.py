"""The README and docs/ cannot drift: every command, Make target and variable is documented,
and every relative link lands on a file (and heading) that exists.

Markdown is read with markdown-it-py, as GitHub renders it; anchors are GitHub's heading
slugs.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bench.cli import COMMANDS
from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
CONTAINERS = DOCS / "containers.md"


@cache
def tokens(path: Path) -> tuple[Token, ...]:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    return tuple(md.parse(path.read_text(encoding="utf-8")))


def plain(inline: Token) -> str:
    """The text of an inline token as rendered: code spans and link texts, no markup."""
    return "".join(c.content for c in inline.children or () if c.type in ("text", "code_inline"))


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in "-_ ")
    return kept.replace(" ", "-")


def headings(path: Path) -> dict[str, Token]:
    """Anchor -> the heading's inline token, with GitHub's -1, -2 suffixes for repeats."""
    found: dict[str, Token] = {}
    toks = tokens(path)
    for i, tok in enumerate(toks):
        if tok.type == "heading_open":
            base = github_slug(plain(toks[i + 1]))
            slug, n = base, 0
            while slug in found:
                n += 1
                slug = f"{base}-{n}"
            found[slug] = toks[i + 1]
    return found


def links(path: Path) -> list[str]:
    """Every link and image target in the page (code blocks and code spans excluded)."""
    out = []
    for tok in tokens(path):
        for child in tok.children or ():
            if child.type == "link_open":
                out.append(str(child.attrs["href"]))
            elif child.type == "image":
                out.append(str(child.attrs["src"]))
    return out


def table_rows(path: Path, first_header: str) -> list[list[Token]]:
    """Body rows (lists of cell inline tokens) of the table whose first header is given."""
    toks = tokens(path)
    for i, tok in enumerate(toks):
        # table_open, thead_open, tr_open, th_open, then the first header's inline token
        if tok.type == "table_open" and plain(toks[i + 4]) == first_header:
            rows: list[list[Token]] = []
            in_body = False
            for t in toks[i:]:
                if t.type == "table_close":
                    return rows
                in_body = in_body or t.type == "tbody_open"
                if in_body and t.type == "tr_open":
                    rows.append([])
                elif in_body and t.type == "inline":
                    rows[-1].append(t)
    raise AssertionError(f"{path.name} has no table headed {first_header!r}")


def test_the_readme_starts_with_make_demo_and_make_test():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```\n")[1]
    assert text.index("```") < text.index("\n## "), "the two commands come before any section"
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]


def test_the_readme_stays_short():
    # What a newcomer reads before the links; the reference lives in docs/.
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_every_command_is_in_the_readme_table_with_its_help_text():
    rows = table_rows(README, "command")
    documented = [plain(cells[0]) for cells in rows]
    assert documented == [f"bench {name}" for name, _module, _help in COMMANDS]
    for cells, (_name, _module, help_text) in zip(rows, COMMANDS, strict=True):
        assert plain(cells[1]) == help_text


@pytest.mark.parametrize("name", [name for name, _module, _help in COMMANDS])
def test_every_command_links_to_a_section_of_its_own_on_a_docs_page(name):
    rows = {plain(cells[0]): cells[0] for cells in table_rows(README, "command")}
    cell = rows[f"bench {name}"]
    href = next(str(c.attrs["href"]) for c in cell.children or () if c.type == "link_open")
    target, _, anchor = href.partition("#")
    page = (REPO / target).resolve()
    assert page.parent == DOCS and page.exists(), f"bench {name} links to {href}"
    assert anchor, f"bench {name} links to {target} without a section"
    heading = headings(page).get(anchor)
    assert heading is not None, f"{target} has no heading for #{anchor}"
    spans = [c.content for c in heading.children or () if c.type == "code_inline"]
    assert f"bench {name}" in spans, f"{target}#{anchor} is not the section of bench {name}"


def markdown_files() -> list[Path]:
    """The pages people read; results/REPORT.md is generated and checked by its own tests."""
    return [README, *PAGES, REPO / "results" / "README.md", REPO / "schema" / "README.md"]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_at_a_file_that_exists(path):
    broken = []
    for href in links(path):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue  # http(s), mailto: not checked here (no network in unit tests)
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.exists():
            broken.append(f"{href}: no such file")
        elif not target.is_relative_to(REPO):
            broken.append(f"{href}: outside the repository")
        elif target.suffix == ".md" and parts.fragment not in ("", *headings(target)):
            broken.append(f"{href}: no such heading in {target.name}")
    assert not broken, f"{path.name}: " + "; ".join(broken)


def test_the_readme_and_the_index_link_every_docs_page():
    index = DOCS / "README.md"
    for source in (README, index):
        linked = {(source.parent / urlsplit(h).path).resolve() for h in links(source)}
        missing = [p.name for p in PAGES if p != source and p not in linked]
        assert not missing, f"{source.relative_to(REPO)} does not link {missing}"


def make_help() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "--no-print-directory", "help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env=env,
        check=True,
    ).stdout


def test_every_make_target_is_in_the_targets_table():
    targets = re.findall(r"^([a-zA-Z_-]+):.*## ", (REPO / "Makefile").read_text(), re.M)
    documented = [plain(cells[0]) for cells in table_rows(CONTAINERS, "target")]
    assert sorted(documented) == sorted(f"make {t}" for t in targets)


def test_every_make_variable_is_in_the_variables_table():
    listed = make_help().split("Variables (override with VAR=value):", 1)[1]
    names = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", listed)) - {"VAR"}
    documented = set()
    for cells in table_rows(CONTAINERS, "variable"):
        documented |= {c.content for c in cells[0].children or () if c.type == "code_inline"}
    assert names <= documented, sorted(names - documented)
