"""When each request should be sent: a pure function of (rate, burstiness, n, seed).

The schedule only produces offsets from the start of the run; the load generator sends
and records how late each send was (the schedule lag). As in SGLang's bench_serving,
inter-arrival times are Gamma-distributed with shape `burstiness` and mean 1 / rate
(burstiness 1.0 = a Poisson process); an infinite rate sends everything at once.
"""

from __future__ import annotations

import math

import numpy as np

from bench.errors import UsageError
from bench.units import NS_PER_S


def send_offsets_ns(
    request_rate: float, num_requests: int, *, burstiness: float = 1.0, seed: int = 0
) -> list[int]:
    """Offsets in ns from the start of the run; the first request goes at 0."""
    if num_requests < 0:
        raise UsageError("the number of requests cannot be negative")
    if math.isinf(request_rate):
        return [0] * num_requests
    if not request_rate > 0:
        raise UsageError(f"--request-rate must be positive or inf, got {request_rate}")
    if not burstiness > 0:
        raise UsageError(f"--burstiness must be positive, got {burstiness}")
    rng = np.random.default_rng(seed)
    theta = 1.0 / (request_rate * burstiness)
    gaps_s = rng.gamma(shape=burstiness, scale=theta, size=max(num_requests - 1, 0))
    offsets = np.concatenate(([0.0], np.cumsum(gaps_s)))[:num_requests]
    return [round(float(s) * NS_PER_S) for s in offsets]
