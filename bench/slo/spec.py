"""The SLO and the search's settings, read strictly (a study's `[search]`, `bench slo`'s flags).

    [search]
    axis = "max_concurrency"          # or "request_rate"
    slo = { ttft_p99_ms = 2000, tpot_p99_ms = 50 }
    attainment = 0.95                 # optional (or inside slo)
    min = 1
    max = 512
    precision = 0.1
    repeats_at_boundary = 3

SLO keys are `{ttft,tpot,e2e}_{p50,p90,p99}_ms`: a bound on that statistic of a run's
requests. Each request is also held to a bound per metric, for attainment and goodput:
the bound of the highest percentile given for that metric (`ttft_p50_ms = 500` and
`ttft_p99_ms = 2000` hold every request's TTFT to 2000 ms). Every problem is one line
naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.errors import InputError

METRICS = ("ttft", "tpot", "e2e")
PERCENTILES = ("p50", "p90", "p99")
SLO_KEYS = tuple(f"{m}_{p}_ms" for m in METRICS for p in PERCENTILES)
AXES = ("max_concurrency", "request_rate")
SEARCH_KEYS = ("axis", "slo", "attainment", "min", "max", "precision", "repeats_at_boundary")
_STAT = {"p50": "median", "p90": "p90", "p99": "p99"}  # a run's metrics name p50 `median`


def statistic_path(key: str) -> tuple[str, str]:
    """Where a result document's run metrics hold an SLO key's statistic:
    `ttft_p99_ms` -> ("ttft_ms", "p99")."""
    metric, percentile, _ms = key.split("_")
    return f"{metric}_ms", _STAT[percentile]


def percentile_of(key: str) -> float:
    """`ttft_p99_ms` -> 99.0."""
    return float(key.split("_")[1][1:])


@dataclass(frozen=True)
class Slo:
    bounds: tuple[tuple[str, float], ...]  # (SLO key, bound in ms), in SLO_KEYS order
    attainment: float | None = None  # fraction of requests that must meet every bound

    def per_request(self) -> dict[str, float | None]:
        """Each request's bound per metric (`ttft_ms`, `tpot_ms`, `e2e_ms`; None: not
        bounded): the bound of the highest percentile given for that metric."""
        out: dict[str, float | None] = {f"{m}_ms": None for m in METRICS}
        for key, bound in self.bounds:  # SLO_KEYS order: p50, p90, p99 within a metric
            out[statistic_path(key)[0]] = bound
        return out

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.bounds), "attainment": self.attainment}

    @property
    def text(self) -> str:
        """`ttft_p99_ms=2000, attainment=0.95`: as `--slo` takes it."""
        parts = [f"{k}={_num(v)}" for k, v in self.bounds]
        if self.attainment is not None:
            parts.append(f"attainment={_num(self.attainment)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SearchSpec:
    axis: str
    slo: Slo
    min: float  # an int on the max_concurrency axis
    max: float
    precision: float = 0.1
    repeats_at_boundary: int = 3

    @property
    def integer(self) -> bool:
        """Concurrency is searched over integers; a request rate over floats."""
        return self.axis == "max_concurrency"

    def as_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "slo": self.slo.as_dict(),
            "min": self.min,
            "max": self.max,
            "precision": self.precision,
            "repeats_at_boundary": self.repeats_at_boundary,
        }


def parse_slo(values: Any, label: str, attainment: Any = None) -> Slo:
    """An SLO from a mapping of SLO keys (and `attainment`) to numbers."""
    if not isinstance(values, dict):
        raise InputError(f"{label} slo must be a table of bounds, like {{ ttft_p99_ms = 2000 }}")
    values = dict(values)
    if "attainment" in values:
        if attainment is not None:
            raise InputError(f"{label} gives attainment twice (in slo and beside it)")
        attainment = values.pop("attainment")
    for key, value in values.items():
        if key not in SLO_KEYS:
            raise InputError(
                f"{label} slo: unknown key {key!r} (one of {', '.join(SLO_KEYS)}, attainment)"
            )
        if not _number(value) or not 0 < value < math.inf:
            raise InputError(f"{label} slo: {key} must be a number of milliseconds > 0")
    if not values:
        raise InputError(f"{label} slo needs at least one bound, like ttft_p99_ms = 2000")
    if attainment is not None and (not _number(attainment) or not 0 < attainment < 1):
        raise InputError(f"{label} attainment must be a fraction in (0, 1), like 0.95")
    bounds = tuple((k, float(values[k])) for k in SLO_KEYS if k in values)
    return Slo(bounds, None if attainment is None else float(attainment))


def parse_search(table: dict[str, Any], label: str = "[search]") -> SearchSpec:
    """A `[search]` table (or the same keys from `bench slo`'s flags) as a SearchSpec."""
    for key in table:
        if key not in SEARCH_KEYS:
            raise InputError(f"{label}: unknown key {key!r} (one of {', '.join(SEARCH_KEYS)})")
    if "slo" not in table:
        raise InputError(f"{label} needs slo = {{ ... }}, like {{ ttft_p99_ms = 2000 }}")
    axis = table.get("axis", "max_concurrency")
    if axis not in AXES:
        raise InputError(f"{label} axis must be one of {', '.join(AXES)}, got {axis!r}")
    slo = parse_slo(table["slo"], label, table.get("attainment"))
    low, high = table.get("min", 1), table.get("max", 512)
    for key, value in (("min", low), ("max", high)):
        if axis == "max_concurrency" and not (_integer(value) and value >= 1):
            raise InputError(f"{label} {key} must be an integer >= 1 for max_concurrency")
        if not _number(value) or not 0 < value < math.inf:
            raise InputError(f"{label} {key} must be a number of requests/s > 0")
    if low > high:
        raise InputError(f"{label} min ({_num(low)}) is greater than max ({_num(high)})")
    precision = table.get("precision", 0.1)
    if not _number(precision) or not 0 < precision < math.inf:
        raise InputError(f"{label} precision must be > 0, got {precision!r}")
    repeats = table.get("repeats_at_boundary", 3)
    if not _integer(repeats) or repeats < 1:
        raise InputError(f"{label} repeats_at_boundary must be an integer >= 1, got {repeats!r}")
    if axis == "request_rate":
        low, high = float(low), float(high)
    return SearchSpec(axis, slo, low, high, float(precision), repeats)


def parse_slo_text(text: str, label: str = "--slo") -> dict[str, float]:
    """`ttft_p99_ms=2000,tpot_p99_ms=50` as a mapping (checked by `parse_slo`)."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            raise InputError(f"{label}: {part!r} is not KEY=VALUE (like ttft_p99_ms=2000)")
        if key in out:
            raise InputError(f"{label}: {key} is given twice")
        try:
            out[key] = float(value)
        except ValueError:
            raise InputError(f"{label}: {key} must be a number, got {value.strip()!r}") from None
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
