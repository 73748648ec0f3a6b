"""Configurations ranked by the most load they take under the SLO, with ties. Pure.

A search brackets the most load a configuration takes within its SLO: at least its
largest passing load, less than its smallest failing one, so it lies in
`[largest_passing, smallest_failing)` (nothing passing: `[0, smallest_failing)`; nothing
failing up to max: `[largest_passing, inf)`). Two configurations **tie** when their
intervals overlap (a.low < b.high and b.low < a.high): the searches cannot say which
takes more. A configuration's rank is 1 + the number of configurations whose whole
interval lies above its own (their largest passing load is at least its smallest
failing one), so tied configurations can share a rank, and a rank is never better than
what the searches prove.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranked:
    key: Hashable
    rank: int
    low: float
    high: float  # math.inf when nothing failed
    ties: tuple[Hashable, ...]  # keys whose interval overlaps this one's


def interval(largest_passing: float | None, smallest_failing: float | None) -> tuple[float, float]:
    low = 0.0 if largest_passing is None else float(largest_passing)
    high = math.inf if smallest_failing is None else float(smallest_failing)
    return low, high


def rank(items: Sequence[tuple[Hashable, float | None, float | None]]) -> list[Ranked]:
    """(key, largest passing, smallest failing) in; ranked, best first (ties by the larger
    largest passing load, then in the order given)."""
    spans = [(key, *interval(lo, hi)) for key, lo, hi in items]
    out = []
    for key, low, high in spans:
        above = sum(1 for k, other_low, _ in spans if k != key and other_low >= high)
        ties = tuple(k for k, lo2, hi2 in spans if k != key and low < hi2 and lo2 < high)
        out.append(Ranked(key, 1 + above, low, high, ties))
    order = {key: i for i, (key, _, _) in enumerate(spans)}
    return sorted(out, key=lambda r: (r.rank, -r.low, order[r.key]))
