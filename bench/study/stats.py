"""Statistics over a cell's repeats: pure functions, numbers in, numbers out.

- `summarize(values)`: n, mean, sample standard deviation (ddof 1), coefficient of
  variation (std / mean) and the 95% confidence interval of the mean from Student's t with
  n - 1 degrees of freedom (`scipy.stats.t.interval`): repeats are few (2 to 5), so the
  normal interval would be too narrow; with n = 1 there is no spread and no interval.
- `bootstrap_p99(values, seed)`: the 95% interval of the 99th percentile of the requests
  pooled over every repeat, from `scipy.stats.bootstrap` (percentile method, 2,000
  resamples, a seeded generator, so the same values give the same interval). A p99 taken
  per repeat from a few hundred requests is itself noisy; pooling and resampling the
  requests says how far it can be trusted. Percentiles are numpy's default (linear), as in
  result documents.

A cell is `unstable` when the coefficient of variation of its output throughput exceeds
the study's `cv_max`; unstable cells are never ranked (`bench.study.pareto`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_METHOD = "percentile"

# headline metric -> where a result document's throughput run holds it
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "output_throughput_tok_s": ("output_throughput_tok_s",),
    "output_throughput_per_npu_tok_s": ("output_throughput_per_npu_tok_s",),
    "ttft_ms_p50": ("ttft_ms", "median"),
    "ttft_ms_p99": ("ttft_ms", "p99"),
    "tpot_ms_p50": ("tpot_ms", "median"),
    "tpot_ms_p99": ("tpot_ms", "p99"),
    "interactivity_tok_s": ("interactivity_tok_s",),
}
STABILITY_METRIC = "output_throughput_tok_s"
POOLED_P99 = {"ttft_ms_p99": "ttft_ms", "tpot_ms_p99": "tpot_ms"}  # bootstrap: per-request values


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float | None  # sample standard deviation; None with one value
    cv: float | None  # std / mean; None with one value or a zero mean
    ci95_low: float | None
    ci95_high: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(values: Sequence[float]) -> Summary | None:
    """Mean, spread and the Student-t 95% interval of the mean; None when empty."""
    xs = [float(v) for v in values]
    if not xs:
        return None
    n = len(xs)
    mean = math.fsum(xs) / n
    if n == 1:
        return Summary(1, mean, None, None, None, None)
    import numpy as np
    from scipy import stats

    std = float(np.std(xs, ddof=1))
    cv = std / mean if mean != 0 else None
    if std == 0:
        low = high = mean
    else:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=std / math.sqrt(n))
    return Summary(n, mean, std, cv, float(low), float(high))


def p99(values: Sequence[float]) -> float:
    import numpy as np

    return float(np.percentile(values, 99))


def bootstrap_p99(values: Sequence[float], seed: int) -> dict[str, Any] | None:
    """{p99, ci95_low, ci95_high, n, method} of pooled per-request values; None when empty.

    With fewer than two distinct values there is nothing to resample: the interval is the
    value itself."""
    xs = [float(v) for v in values]
    if not xs:
        return None
    point = p99(xs)
    out = {"p99": point, "n": len(xs), "method": _method_text()}
    if len(set(xs)) < 2:
        return {**out, "ci95_low": point, "ci95_high": point}
    import numpy as np
    from scipy import stats

    result = stats.bootstrap(
        (np.asarray(xs),),
        lambda x, axis: np.percentile(x, 99, axis=axis),
        vectorized=True,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method=BOOTSTRAP_METHOD,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return {**out, "ci95_low": float(low), "ci95_high": float(high)}


def _method_text() -> str:
    return (
        f"scipy.stats.bootstrap, {BOOTSTRAP_METHOD} method, {BOOTSTRAP_RESAMPLES} resamples "
        "of the requests pooled over the repeats"
    )


def headline_values(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The headline metrics of one throughput run's `metrics` (None where absent)."""
    out: dict[str, float | None] = {}
    for name, path in HEADLINE_METRICS.items():
        value: Any = metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        out[name] = float(value) if ok and math.isfinite(value) else None
    return out


def cell_statistics(
    repeats: Sequence[dict[str, float | None]],
    pooled: dict[str, Sequence[float]],
    cv_max: float,
    seed: int,
) -> dict[str, Any]:
    """`statistics`, `p99_bootstrap` and `unstable` of a cell from its repeats' headline
    values and the per-request TTFT/TPOT values pooled over them."""
    statistics = {}
    for name in HEADLINE_METRICS:
        summary = summarize([r[name] for r in repeats if r.get(name) is not None])
        statistics[name] = summary.as_dict() if summary else None
    boot = {
        name: bootstrap_p99(pooled.get(source, ()), seed) for name, source in POOLED_P99.items()
    }
    stability = statistics.get(STABILITY_METRIC) or {}
    cv = stability.get("cv")
    return {
        "statistics": statistics,
        "p99_bootstrap": boot,
        "unstable": cv is not None and cv > cv_max,
    }
