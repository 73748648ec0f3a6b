"""Whether B differs from A beyond noise: pure statistics over numbers, and the sentence a
reader can act on. Every test is two-sided at 5%, one test per metric.

- **Over repeats** (at least two runs on each side): Welch's t-test on the runs' values
  (`scipy.stats.ttest_ind(b, a, equal_var=False)`), which does not assume both sides
  vary alike; its 95% interval of mean(B) - mean(A) comes from the same test
  (`confidence_interval()`, Welch-Satterthwaite degrees of freedom), so the interval
  excludes 0 exactly when p < 0.05. The percent difference 100 x (mean(B) / mean(A) - 1)
  gets its interval by the delta method: the variance of the ratio of means is
  var(B)/(n_B mean(A)^2) + mean(B)^2 var(A)/(n_A mean(A)^4), with the same t quantile;
  the verdict is the t-test's.
- **Within one run each**: a bootstrap over the per-request values of both runs
  (`scipy.stats.bootstrap`, independent resampling of each side, percentile method,
  2,000 resamples, a fixed seed): the 95% interval of median(B) - median(A) (or of the
  p99s) and, from the same resamples, of the percent difference. The difference is
  significant when its interval excludes 0 (the two intervals agree in sign, being the
  same resamples). There is no p-value: the interval is the test. It holds the spread of
  requests within the two runs, not how much a whole run varies, so its verdict is on
  the two runs ("B's run is better"): two runs of one server can differ beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Difference:
    label: str  # "output tokens/s", "median TPOT"
    better: str  # "higher" | "lower"
    method: str  # "welch" | "bootstrap"
    n_a: int  # runs (welch) or requests (bootstrap)
    n_b: int
    a: float  # mean over runs, or the statistic over requests
    b: float
    diff: float  # b - a
    diff_low: float
    diff_high: float
    pct: float | None  # 100 (b / a - 1); None when a is 0
    pct_low: float | None
    pct_high: float | None
    p_value: float | None  # welch only
    significant: bool

    @property
    def winner(self) -> str | None:
        if not self.significant or self.diff == 0:
            return None
        b_higher = self.diff > 0
        return "B" if b_higher == (self.better == "higher") else "A"


def welch(label: str, better: str, a: Sequence[float], b: Sequence[float]) -> Difference:
    """Welch's t-test of the runs' values (at least two on each side)."""
    import numpy as np
    from scipy import stats

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(xa) < 2 or len(xb) < 2:
        raise ValueError("Welch's t-test needs at least two runs on each side")
    ma, mb = float(xa.mean()), float(xb.mean())
    va, vb = float(xa.var(ddof=1)), float(xb.var(ddof=1))
    diff = mb - ma
    if len(set(xa.tolist())) == 1 and len(set(xb.tolist())) == 1:  # no spread on either side
        va = vb = 0.0
        p = 1.0 if diff == 0 else 0.0
        low = high = diff
        t_crit = 0.0
    else:
        result = stats.ttest_ind(xb, xa, equal_var=False)
        p = float(result.pvalue)
        ci = result.confidence_interval(confidence_level=CONFIDENCE)
        low, high = float(ci.low), float(ci.high)
        t_crit = float(stats.t.ppf(1 - ALPHA / 2, result.df))
    pct = pct_low = pct_high = None
    if ma != 0:
        ratio = mb / ma
        se = math.sqrt(vb / (len(xb) * ma**2) + mb**2 * va / (len(xa) * ma**4))
        pct = 100 * (ratio - 1)
        pct_low, pct_high = 100 * (ratio - t_crit * se - 1), 100 * (ratio + t_crit * se - 1)
    return Difference(
        label, better, "welch", len(xa), len(xb), ma, mb, diff, low, high,
        pct, pct_low, pct_high, p, p < ALPHA,
    )  # fmt: skip


def bootstrap(
    label: str, better: str, statistic: str, a: Sequence[float], b: Sequence[float]
) -> Difference:
    """The bootstrap interval of statistic(B) - statistic(A) over per-request values;
    `statistic` is "median" or "p99"."""
    import numpy as np
    from scipy import stats

    q = {"median": 50, "p99": 99}[statistic]
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(xa) < 2 or len(xb) < 2:
        raise ValueError("a bootstrap needs at least two requests on each side")
    sa, sb = float(np.percentile(xa, q)), float(np.percentile(xb, q))

    with_pct = sa > 0 and bool(np.all(xa > 0))  # a percent needs A's resamples above 0

    def both(x, y, axis):
        px, py = np.percentile(x, q, axis=axis), np.percentile(y, q, axis=axis)
        return np.stack([py - px, 100 * (py / px - 1) if with_pct else py - px])

    if len(set(xa.tolist())) < 2 and len(set(xb.tolist())) < 2:  # nothing to resample
        low = high = sb - sa
        pct_low = pct_high = 100 * (sb / sa - 1) if with_pct else None
    else:
        result = stats.bootstrap(
            (xa, xb),
            both,
            vectorized=True,
            paired=False,
            n_resamples=BOOTSTRAP_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(BOOTSTRAP_SEED),
        )
        low, pct_low = result.confidence_interval.low.tolist()
        high, pct_high = result.confidence_interval.high.tolist()
        if not with_pct:
            pct_low = pct_high = None
    return Difference(
        label, better, "bootstrap", len(xa), len(xb), sa, sb, sb - sa, low, high,
        100 * (sb / sa - 1) if with_pct else None, pct_low, pct_high, None, low > 0 or high < 0,
    )  # fmt: skip


def _p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _counts(d: Difference) -> str:
    if d.method == "welch":
        runs = f"{d.n_a} repeats each" if d.n_a == d.n_b else f"{d.n_a} and {d.n_b} repeats"
        if d.diff_low == d.diff_high:  # no spread on either side: nothing to test
            return f"no spread within either side, {runs}"
        return f"{_p(d.p_value or 0.0)}, Welch's t-test, {runs}"
    return f"bootstrap over {d.n_a} and {d.n_b} requests of one run each"


def sentence(d: Difference) -> str:
    """The verdict in words, B against A."""
    if d.pct is None:
        change = f"B - A = {d.diff:.4g} (95% CI {d.diff_low:.4g} to {d.diff_high:.4g})"
    elif d.pct == 0:
        change = f"no different (95% CI {d.pct_low:.1f} to {d.pct_high:.1f}%)"
    else:
        word = "higher" if d.pct > 0 else "lower"
        low, high = (d.pct_low, d.pct_high) if d.pct > 0 else (-d.pct_high, -d.pct_low)
        change = f"{abs(d.pct):.1f}% {word} (95% CI {low:.1f} to {high:.1f}%)"
    whose = "" if d.method == "welch" else "'s run"  # one run each: a verdict on two runs
    if d.significant:
        verdict = f"{d.winner}{whose} is better" if d.winner else "no change"
        return f"B's {d.label} is {change}, significant ({_counts(d)}): {verdict}."
    return f"No significant difference in {d.label} ({_counts(d)}): B{whose} is {change}."
