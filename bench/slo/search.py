"""The search for the most load under an SLO: every decision is a pure function of the
runs so far (`history`: (load, RunFacts) in the order they ran), so a resumed search
replays to the same place and a fake cell runner can test it.

1. An uncertain probe is run again, up to `repeats_at_boundary` runs in all.
2. Doubling: from `min`, twice the largest load probed (at most `max`) until a probe fails.
3. The bracket: `hi` is the smallest failing load; `lo` the largest passing load below it.
   An uncertain load is never a bound. The search assumes more load never helps: against
   a server that is not monotone it finds, as any bisection does, a load that passes
   next to (within precision of) one that fails.
4. Bisection of the bracket's edges: the gap between `lo` and the next load probed above
   it, then the gap between the last load probed below `hi` and `hi`, each halved until
   `(b - a) / a <= precision`; on the integer axis (max_concurrency) also until
   `b - a <= 1`. With no uncertain load in between, both gaps are `[lo, hi]`.
5. Confirmation: `lo`, then `hi`, are run until each has `repeats_at_boundary` runs; if
   either turns uncertain it is no longer a bound, and the search goes on from step 1.

The number of loads is bounded (`load_limit`): doubling takes at most
ceil(log2(max / min)) + 1, each edge's bisection at most ceil(log2(1 / precision)) + 1
per bound that confirmation overturns; past the limit the search stops and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.slo.spec import SearchSpec
from bench.slo.verdict import FAIL, PASS, UNCERTAIN, RunFacts, Verdict, probe_verdict

History = Sequence[tuple[float, RunFacts]]
OVERTURNED_BOUNDS = 3  # bounds confirmation may overturn before the limit applies


@dataclass(frozen=True)
class Step:
    action: str  # "probe" (a new load), "repeat" (another run at a load) or "done"
    load: float | None
    why: str


@dataclass(frozen=True)
class Outcome:
    result: str  # found | no_failure | no_pass | unresolved
    largest_passing: float | None
    smallest_failing: float | None
    uncertain: tuple[float, ...]
    notes: tuple[str, ...]
    loads: int  # distinct loads probed
    runs: int


def load_limit(spec: SearchSpec) -> int:
    """The most distinct loads a search probes (see the module docstring)."""
    doubling = math.ceil(math.log2(spec.max / spec.min)) + 1
    halvings = math.ceil(math.log2(max(1.0 / spec.precision, 1.0))) + 1
    limit = doubling + 2 * (OVERTURNED_BOUNDS + 1) * halvings
    if spec.integer:
        limit = min(limit, int(spec.max - spec.min) + 1)
    return limit


def grouped(history: History) -> dict[float, list[RunFacts]]:
    """Runs per load, loads in the order first probed."""
    out: dict[float, list[RunFacts]] = {}
    for load, facts in history:
        out.setdefault(load, []).append(facts)
    return out


def verdicts(spec: SearchSpec, history: History) -> dict[float, Verdict]:
    return {load: probe_verdict(runs, spec.slo) for load, runs in grouped(history).items()}


def bracket(judged: dict[float, Verdict]) -> tuple[float | None, float | None]:
    """(lo, hi): the largest passing load below the smallest failing one, and that one."""
    fails = [x for x, v in judged.items() if v.status == FAIL]
    hi = min(fails) if fails else None
    passes = [x for x, v in judged.items() if v.status == PASS and (hi is None or x < hi)]
    return (max(passes) if passes else None), hi


def _too_wide(spec: SearchSpec, a: float, b: float) -> bool:
    if spec.integer and b - a <= 1:
        return False
    return (b - a) / a > spec.precision


def _mid(spec: SearchSpec, a: float, b: float) -> float:
    return (a + b) // 2 if spec.integer else (a + b) / 2


def _num(x: float) -> str:
    return f"{x:g}"


def next_step(spec: SearchSpec, history: History) -> Step:
    """What to run next, given every run so far: a new load only within `load_limit`."""
    step = _next(spec, history)
    limit = load_limit(spec)
    if step.action == "probe" and len(grouped(history)) >= limit:
        return Step("done", None, f"stopped at the limit of {limit} loads")
    return step


def _next(spec: SearchSpec, history: History) -> Step:
    runs = grouped(history)
    judged = {load: probe_verdict(r, spec.slo) for load, r in runs.items()}
    repeats = spec.repeats_at_boundary
    for load in reversed(list(runs)):
        if judged[load].status == UNCERTAIN and len(runs[load]) < repeats:
            why = "; ".join(judged[load].reasons)
            return Step("repeat", load, f"uncertain ({why}): run again")
    if not runs:
        return Step("probe", spec.min, "the search starts at min")
    lo, hi = bracket(judged)
    probed = sorted(runs)
    if hi is None and probed[-1] < spec.max:
        load = min(2 * probed[-1], spec.max)
        return Step("probe", load, "doubling: no load has failed yet")
    if lo is not None:
        above = [x for x in probed if x > lo]
        if above and _too_wide(spec, lo, above[0]):
            mid = _mid(spec, lo, above[0])
            return Step("probe", mid, f"bisecting {_num(lo)} (passes) .. {_num(above[0])}")
    if hi is not None:
        below = [x for x in probed if x < hi]
        if below and _too_wide(spec, below[-1], hi):
            mid = _mid(spec, below[-1], hi)
            return Step("probe", mid, f"bisecting {_num(below[-1])} .. {_num(hi)} (fails)")
    for bound, word in ((lo, "largest passing"), (hi, "smallest failing")):
        if bound is not None and len(runs[bound]) < repeats:
            return Step("repeat", bound, f"confirming the {word} load")
    return Step("done", None, "the bracket is within precision and its bounds are confirmed")


def outcome(spec: SearchSpec, history: History) -> Outcome:
    """The answer the runs so far give (final once `next_step` says done)."""
    runs = grouped(history)
    judged = {load: probe_verdict(r, spec.slo) for load, r in runs.items()}
    lo, hi = bracket(judged)
    uncertain = tuple(sorted(x for x, v in judged.items() if v.status == UNCERTAIN))
    notes = []
    inside = [x for x in uncertain if (lo is None or x > lo) and (hi is None or x < hi)]
    if inside:
        shown = ", ".join(_num(x) for x in inside)
        notes.append(f"uncertain between the bounds at {shown}: never taken as a bound")
    if runs and next_step(spec, history).why.startswith("stopped at the limit"):
        notes.append(f"stopped at the limit of {load_limit(spec)} loads")
    if lo is not None and hi is not None:
        result = "found"
    elif lo is not None:
        result = "no_failure"  # nothing failed up to max
    elif hi is not None:
        result = "no_pass"  # nothing passed below the smallest failing load
    else:
        result = "unresolved"
    return Outcome(result, lo, hi, uncertain, tuple(notes), len(runs), len(history))
