"""Configurations ranked by the most load under the SLO: intervals [largest passing,
smallest failing) that overlap are ties, and a rank counts only what lies wholly above."""

from __future__ import annotations

import math

from bench.slo.ranking import interval, rank


def test_equal_brackets_tie_and_share_the_first_rank():
    out = rank([("A", 8, 9), ("B", 8, 9)])
    assert [(r.key, r.rank, r.ties) for r in out] == [("A", 1, ("B",)), ("B", 1, ("A",))]


def test_adjacent_brackets_do_not_tie():
    out = rank([("A", 8, 9), ("B", 9, 10)])
    assert [(r.key, r.rank, r.ties) for r in out] == [("B", 1, ()), ("A", 2, ())]


def test_overlap_is_not_transitive_and_ranks_count_only_what_is_wholly_above():
    # B [16, 18) and C [12, 20) overlap; A [8, 9) lies below both
    out = rank([("A", 8, 9), ("B", 16, 18), ("C", 12, 20)])
    assert [(r.key, r.rank, r.ties) for r in out] == [
        ("B", 1, ("C",)),
        ("C", 1, ("B",)),
        ("A", 3, ()),
    ]


def test_nothing_failing_and_nothing_passing_are_open_ended():
    assert interval(None, 1) == (0.0, 1.0) and interval(512, None) == (512.0, math.inf)
    out = rank([("none", None, 1), ("all", 512, None), ("mid", 64, 72)])
    assert [(r.key, r.rank) for r in out] == [("all", 1), ("mid", 2), ("none", 3)]
