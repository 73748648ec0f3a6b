"""Whether a run, and a probe (one load level, one or more runs), meets the SLO. Pure.

- A **run** passes the percentile bounds when each statistic (p50, p90 or p99 of TTFT,
  TPOT or E2E over its completed requests, as its result document states them) is within
  its bound, and no more of its requests failed than that percentile leaves out (a p99
  bound tolerates at most 1% failed requests, a p50 bound 50%): a failed request counts
  as beyond every bound. A statistic no request gives (TPOT when every reply was one
  token) is not checked, as a request's TPOT is not.
- **Attainment** is pooled over the probe's runs: k requests meeting every per-request
  bound of n sent (a failed request never meets it). Its 95% Wilson score interval comes
  from `scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`: the attainment passes
  when the interval's low end is at least the target, fails when its high end is below
  it, and is uncertain when the interval straddles the target.
- A **probe** fails when its attainment fails or every run fails the percentile bounds;
  passes when its attainment (if asked) passes and every run passes them; otherwise it is
  **uncertain**: the runs disagree, or the Wilson interval straddles the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from bench.slo.spec import Slo, percentile_of

CONFIDENCE = 0.95
PASS, FAIL, UNCERTAIN = "pass", "fail", "uncertain"


@dataclass(frozen=True)
class RunFacts:
    """What one run says about the SLO (`bench.slo.facts` reads it from a run's document
    and records)."""

    statistics: dict[str, float | None]  # SLO key -> the run's statistic (ms); None: none
    requests_sent: int
    requests_failed: int
    requests_good: int  # meeting every per-request bound; failed requests never do
    duration_s: float
    output_throughput_tok_s: float | None = None
    output_throughput_per_npu_tok_s: float | None = None

    @property
    def goodput_rps(self) -> float | None:
        """Requests meeting every per-request bound, per second of the measured window."""
        return self.requests_good / self.duration_s if self.duration_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "goodput_rps": self.goodput_rps}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunFacts:
        return cls(
            statistics=dict(data["statistics"]),
            requests_sent=int(data["requests_sent"]),
            requests_failed=int(data["requests_failed"]),
            requests_good=int(data["requests_good"]),
            duration_s=float(data["duration_s"]),
            output_throughput_tok_s=data.get("output_throughput_tok_s"),
            output_throughput_per_npu_tok_s=data.get("output_throughput_per_npu_tok_s"),
        )


@dataclass(frozen=True)
class Attainment:
    good: int
    total: int
    value: float
    ci95_low: float
    ci95_high: float
    target: float
    status: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | fail | uncertain
    runs: int
    runs_passing: int  # runs within every percentile bound
    attainment: Attainment | None
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "runs": self.runs,
            "runs_passing": self.runs_passing,
            "attainment": None if self.attainment is None else self.attainment.as_dict(),
            "reasons": list(self.reasons),
        }


def run_misses(facts: RunFacts, slo: Slo) -> list[str]:
    """The percentile bounds a run misses, each as a short phrase; empty when it passes."""
    misses = []
    sent = max(facts.requests_sent, 1)
    failed_share = facts.requests_failed / sent
    for key, bound in slo.bounds:
        allowed = 1 - percentile_of(key) / 100
        if failed_share > allowed:
            misses.append(
                f"{_name(key)}: {facts.requests_failed} of {facts.requests_sent} requests failed"
            )
            continue
        value = facts.statistics.get(key)
        if value is not None and value > bound:
            misses.append(f"{_name(key)} {value:.4g} ms > {bound:g} ms")
    return misses


@cache
def wilson_interval(good: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of good / total (scipy.stats.binomtest)."""
    from scipy import stats

    ci = stats.binomtest(good, total).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def wilson(good: int, total: int, target: float) -> Attainment:
    """Attainment k/n with its 95% Wilson score interval, judged against `target`."""
    low, high = wilson_interval(good, total)
    status = PASS if low >= target else FAIL if high < target else UNCERTAIN
    return Attainment(good, total, good / total, low, high, target, status)


def probe_verdict(runs: Sequence[RunFacts], slo: Slo) -> Verdict:
    """The verdict of one load level from its runs so far (at least one)."""
    if not runs:
        raise ValueError("a probe needs at least one run")
    misses = [run_misses(r, slo) for r in runs]
    passing = sum(1 for m in misses if not m)
    parts = [PASS if passing == len(runs) else FAIL if passing == 0 else UNCERTAIN]
    reasons = []
    if parts[0] == UNCERTAIN:
        reasons.append(f"runs disagree: {passing} of {len(runs)} within the percentile bounds")
    elif parts[0] == FAIL:
        reasons.append("; ".join(dict.fromkeys(m for ms in misses for m in ms)))
    attainment = None
    if slo.attainment is not None:
        total = sum(r.requests_sent for r in runs)
        good = sum(r.requests_good for r in runs)
        attainment = wilson(good, total, slo.attainment)
        parts.append(attainment.status)
        if attainment.status != PASS:
            word = "below" if attainment.status == FAIL else "straddles"
            reasons.append(
                f"attainment {attainment.value:.3f} (95% CI {attainment.ci95_low:.3f} to "
                f"{attainment.ci95_high:.3f}, {good} of {total} requests) {word} "
                f"the target {slo.attainment:g}"
            )
    status = FAIL if FAIL in parts else PASS if set(parts) == {PASS} else UNCERTAIN
    return Verdict(status, len(runs), passing, attainment, tuple(reasons))


def _name(key: str) -> str:
    """`ttft_p99_ms` -> `TTFT p99`."""
    metric, percentile, _ms = key.split("_")
    return f"{metric.upper()} {percentile}"
