"""Fetch a server's Prometheus `/metrics` and parse it with `prometheus_client`'s parser."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

from bench.client.api import server_get
from bench.telemetry.engines import Snapshot
from bench.telemetry.sampler import SampleError

MAX_METRICS_BYTES = 16 * 1024 * 1024
SCRAPE_TIMEOUT_S = 5.0


def parse_metrics(text: str) -> Snapshot:
    """sample name -> [(labels, value), ...]. A counter family with no sample yet (declared,
    never incremented: SGLang's labelled counters) reads as `name_total` with no values, so it
    sums to 0 rather than being absent. Raises ValueError on text that is not the format."""
    from prometheus_client.parser import text_string_to_metric_families

    out: Snapshot = {}
    for family in text_string_to_metric_families(text):
        if family.type == "counter" and not family.samples:
            out.setdefault(f"{family.name}_total", [])
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def fetch_metrics(url: str, timeout_s: float = SCRAPE_TIMEOUT_S) -> Snapshot:
    """GET and parse `url`. Raises SampleError saying why it could not be read."""
    try:
        with urllib.request.urlopen(server_get(url), timeout=timeout_s) as response:
            body = response.read(MAX_METRICS_BYTES + 1)
    except urllib.error.HTTPError as exc:
        hint = " (SGLang serves it with --enable-metrics, llama.cpp with --metrics)"
        why = f"GET {url} answered HTTP {exc.code}{hint if exc.code == 404 else ''}"
        raise SampleError(why) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SampleError(f"GET {url} failed: {reason}") from None
    if len(body) > MAX_METRICS_BYTES:
        raise SampleError(f"GET {url} sent more than {MAX_METRICS_BYTES >> 20} MiB")
    try:
        return parse_metrics(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SampleError(f"GET {url} is not Prometheus text format: {exc}") from None
