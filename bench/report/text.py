"""Text that goes into the report: untrusted strings made safe, numbers formatted one way.

Everything a submission wrote (names, notes, versions, titles, paths) passes through
`cell` or `inline` before it reaches Markdown. Both remove control and format characters
(newlines, bidi overrides), truncate to a fixed length, escape HTML (`<` becomes `&lt;`, so
no tag survives) and backslash-escape Markdown punctuation (so no link, image, emphasis or
table pipe survives). The result renders as the literal text the submitter typed.
"""

from __future__ import annotations

import html
import unicodedata

# Default truncation: enough for any real name, version or title; short enough for a table.
CELL_LIMIT = 60
TEXT_LIMIT = 300
ELLIPSIS = "…"

# Markdown punctuation that opens a construct in the middle of a line: code, emphasis,
# strikethrough, links and images (`[`), table cells (`|`), math (`$`), and the escape itself.
# `<` and `&` become entities through html.escape. Untrusted text never starts a line in the
# report, so line-start markers (`#`, `-`, `1.`) need no escaping and versions stay readable.
_MD_SPECIAL = set("\\`*_[]|~$")


def clean(text: object, limit: int = TEXT_LIMIT) -> str:
    """Plain one-line text: control/format characters removed, whitespace collapsed, truncated.

    `limit` counts characters of the cleaned text; a truncated string ends with `…`.
    """
    s = "" if text is None else str(text)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    s = " ".join("".join(out).split())
    if len(s) > limit:
        s = s[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return s


def inline(text: object, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text for Markdown prose (paragraphs, list items, headings, table cells)."""
    s = html.escape(clean(text, limit), quote=False)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def cell(text: object, limit: int = CELL_LIMIT) -> str:
    """Untrusted text for a Markdown table cell; `—` when empty."""
    s = inline(text, limit)
    return s if s else "—"


def code(text: object, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text shown as inline code; backticks cannot close the span early.

    Inside a code span nothing is interpreted except the closing backtick run, so the text
    is wrapped in a fence one backtick longer than its longest run. `|` still ends a table
    cell in GitHub's parser, so it is replaced by the look-alike `¦` and `<` by `‹` to keep
    raw HTML out of renderers that do not respect code spans in tables.
    """
    s = clean(text, limit).replace("|", "¦").replace("<", "‹").replace(">", "›")
    if not s:
        return "—"
    longest = run = 0
    for ch in s:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def num(value: object, digits: int = 1) -> str:
    """A number with a fixed number of decimals and thousands separators; `—` when absent."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    """A ratio as `0.97×`; `—` when absent."""
    return "—" if value is None else f"{value:.2f}×"


def percent(value: object) -> str:
    """A percentage (already x100) with no decimals; `—` when absent."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.0f}%"
