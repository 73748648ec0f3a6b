"""Untrusted text becomes inert Markdown: one line, no HTML, no table break, bounded length."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.report import text


def test_pipe_is_escaped_so_it_cannot_end_a_table_cell():
    assert text.cell("a|b") == "a\\|b"


def test_newlines_and_control_characters_become_one_line():
    assert text.clean("one\ntwo\r\nthree\x00\x1b[31m") == "one two three[31m"


def test_bidi_overrides_and_zero_width_characters_are_removed():
    assert text.clean("abc\u202edcba\u200b") == "abcdcba"


def test_html_is_escaped_so_no_tag_survives():
    out = text.cell('<script>alert("x")</script>')
    assert "<" not in out and ">" not in out
    assert out.startswith("&lt;script&gt;")


def test_markdown_links_images_and_emphasis_are_neutralised():
    out = text.inline("![x](http://e) [y](javascript:alert(1)) *b* _i_ `c` ~s~ $m$")
    assert "\\[" in out and "\\]" in out and "\\*" in out and "\\_" in out
    assert "\\`" in out and "\\~" in out and "\\$" in out


def test_long_text_is_truncated_with_an_ellipsis():
    out = text.cell("x" * 10_000, 60)
    assert len(out) == 60 and out.endswith("…")


def test_truncation_counts_the_cleaned_text_not_the_escapes():
    assert text.clean("a" * 59 + "|", 60) == "a" * 59 + "|"
    assert text.cell("a" * 59 + "|", 60) == "a" * 59 + "\\|"


def test_empty_cell_is_a_dash():
    assert text.cell(None) == "—"
    assert text.cell("  \n ") == "—"


def test_code_span_survives_backticks_pipes_and_angle_brackets():
    assert text.code("a`b") == "``a`b``"
    assert text.code("`x`") == "`` `x` ``"
    assert text.code("a|b<c>") == "`a¦b‹c›`"


def test_numbers_have_fixed_decimals_and_separators():
    assert text.num(3622.44) == "3,622.4"
    assert text.num(17.5, 2) == "17.50"
    assert text.num(None) == "—"
    assert text.num(True) == "—"
    assert text.ratio(0.5) == "0.50×"
    assert text.percent(43.1) == "43%"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_becomes_one_inert_table_cell(value):
    out = text.cell(value, 60)
    assert "\n" not in out and "\r" not in out
    assert "<" not in out and ">" not in out
    assert re.search(r"(?<!\\)\|", out.replace("\\\\", "")) is None, "an unescaped pipe"
    assert len(text.clean(value, 60)) <= 60
    row = f"| {out} | next |"
    assert len(re.split(r"(?<!\\)\|", row.replace("\\\\", ""))) == 4
