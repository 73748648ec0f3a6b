"""Pure functions of a timeline: values at the window's edges, energy, gaps, a plot series.

A timeline here is a list of `(t_ns, value)` points in time order, `t_ns` from
`time.perf_counter_ns()` of the client process, so it shares a clock with the records. The
measured window is `[start_ns, end_ns]`: the first measured send and the last measured
finish (`bench.metrics.window_ns`).

Energy (J) is the trapezoidal integral of power over the window. The power at each edge is
interpolated linearly between the samples either side of it (or held from the nearest sample
when the sampler has none on one side, within the gap limit). A gap between consecutive
samples longer than `MAX_GAP_INTERVALS` sampling intervals, anywhere the window reaches,
leaves the energy unknown (None) with the reason: InferenceX rejects gaps over 3 s for the
same reason, an unobserved stretch could hold any power.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bench.units import NS_PER_S

Point = tuple[int, float]

MAX_GAP_INTERVALS = 3  # a gap longer than this many sampling intervals makes energy unknown
GAP_INTERVALS = 1.5  # a spacing above this many intervals counts as a missed sample (a gap)


def value_at(points: Sequence[Point], t_ns: int) -> float:
    """The value at `t_ns`: linear between the samples either side, else the nearest."""
    if not points:
        raise ValueError("value_at() of an empty timeline")
    if t_ns <= points[0][0]:
        return points[0][1]
    if t_ns >= points[-1][0]:
        return points[-1][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t_ns <= t1:
            if t1 == t0:
                return v1
            return v0 + (v1 - v0) * (t_ns - t0) / (t1 - t0)
    raise AssertionError("unreachable: points are in time order")


def covering(points: Sequence[Point], start_ns: int, end_ns: int) -> list[Point]:
    """The samples inside the window and the nearest one on each side of it."""
    before = [p for p in points if p[0] < start_ns][-1:]
    inside = [p for p in points if start_ns <= p[0] <= end_ns]
    after = [p for p in points if p[0] > end_ns][:1]
    return before + inside + after


def largest_gap_ns(points: Sequence[Point], start_ns: int, end_ns: int) -> int:
    """The longest stretch of the window with no sample, counting the edges: from the window's
    start to the first sample when none precedes it, and from the last sample to its end."""
    near = covering(points, start_ns, end_ns)
    if not near:
        return end_ns - start_ns
    times = [t for t, _ in near]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(max(0, times[0] - start_ns))
    gaps.append(max(0, end_ns - times[-1]))
    return max(gaps)


def count_gaps(times_ns: Sequence[int], interval_s: float) -> int:
    """Spacings between consecutive samples longer than GAP_INTERVALS intervals."""
    limit = GAP_INTERVALS * interval_s * NS_PER_S
    return sum(1 for a, b in itertools.pairwise(times_ns) if b - a > limit)


def energy_j(
    points: Sequence[Point], start_ns: int, end_ns: int, interval_s: float
) -> tuple[float | None, str | None]:
    """(energy in J, None), or (None, why it is unknown).

    Formula: E = sum over consecutive points (t_i, P_i) of (P_i + P_i+1) / 2 x (t_i+1 - t_i),
    over the samples inside [start, end] plus the power interpolated at start and at end.
    """
    if end_ns <= start_ns:
        return None, "the measured window is empty"
    if not points:
        return None, "no power sample was taken"
    gap = largest_gap_ns(points, start_ns, end_ns)
    if gap > MAX_GAP_INTERVALS * interval_s * NS_PER_S:
        return None, (
            f"a gap of {gap / NS_PER_S:.1f} s without a power sample in the measured window "
            f"(more than {MAX_GAP_INTERVALS} intervals of {interval_s:g} s)"
        )
    inside = [p for p in points if start_ns < p[0] < end_ns]
    path = [(start_ns, value_at(points, start_ns)), *inside, (end_ns, value_at(points, end_ns))]
    joules = 0.0
    for (t0, p0), (t1, p1) in itertools.pairwise(path):
        joules += (p0 + p1) / 2 * (t1 - t0) / NS_PER_S
    return joules, None


def window_values(points: Sequence[Point], start_ns: int, end_ns: int) -> list[float]:
    """The values the window's statistics are taken over: the samples inside it, or, when the
    window is shorter than the sampling interval, the two samples around it."""
    inside = [v for t, v in points if start_ns <= t <= end_ns]
    return inside or [v for _, v in covering(points, start_ns, end_ns)]


def series(
    points: Sequence[Point], origin_ns: int, max_points: int
) -> tuple[list[float], list[float]]:
    """(t_s from origin, value) thinned to at most `max_points` by averaging equal-count
    runs of consecutive samples, for a plot. Rounded to 3 decimals."""
    if not points:
        return [], []
    step = -(-len(points) // max_points)  # ceiling division
    times, values = [], []
    for i in range(0, len(points), step):
        chunk = points[i : i + step]
        mean_ns = sum(t - origin_ns for t, _ in chunk) / len(chunk)
        times.append(round(mean_ns / NS_PER_S, 3))
        values.append(round(sum(v for _, v in chunk) / len(chunk), 3))
    return times, values
