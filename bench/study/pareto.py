"""The Pareto front of throughput against interactivity: a pure function.

The rule: a point is on the front when no other point is at least as good on both axes and
better on one. Both axes are "more is better": x is tokens/s per user (interactivity,
1000 / median TPOT), y is output tokens/s per NPU. A point equal to another on both axes
does not dominate it, so both stay. Only cells that may be ranked take part: finished,
valid, not unstable (`bench.study.document` decides which).
"""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a is at least as good as b on both axes and better on one."""
    return a[0] >= b[0] and a[1] >= b[1] and (a[0] > b[0] or a[1] > b[1])


def front(points: Sequence[tuple[str, float, float]]) -> list[str]:
    """The ids of the points on the front, ordered by x (then y, then id)."""
    kept = [
        (x, y, pid)
        for pid, x, y in points
        if not any(dominates((ox, oy), (x, y)) for _, ox, oy in points)
    ]
    return [pid for _, _, pid in sorted(kept)]
