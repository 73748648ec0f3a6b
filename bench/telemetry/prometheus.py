"""Fetch a server's Prometheus `/metrics` and parse it with `prometheus_client`'s parser.

The scrapes run in a thread of the client's process, which shares the interpreter lock with
the load generator: parsing a whole SGLang exposition (a thousand lines and more, most of
them histogram buckets) holds it for milliseconds. So after the first scrape only the lines
of the families the kit reads are handed to the parser (`keep`), and buckets never are.
"""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from collections.abc import Collection

from bench.client.api import server_get
from bench.telemetry.engines import Snapshot
from bench.telemetry.sampler import SampleError

MAX_METRICS_BYTES = 16 * 1024 * 1024
SCRAPE_TIMEOUT_S = 5.0


_SUFFIX = re.compile(r"_(total|sum|count|bucket|created)$")
_NAME = re.compile(r"^(?:# (?:TYPE|HELP) )?([A-Za-z_:][A-Za-z0-9_:]*)")


def family(name: str) -> str:
    """`sglang:prompt_tokens_total` -> `sglang:prompt_tokens` (what TYPE and HELP lines name)."""
    return _SUFFIX.sub("", name)


def only(text: str, keep: Collection[str]) -> str:
    """The lines of `text` that belong to the families of the sample names in `keep`, without
    histogram buckets or `_created` samples (prometheus_client parses what is left)."""
    families = {family(name) for name in keep}
    lines = []
    for line in text.splitlines():
        match = _NAME.match(line)
        if match is None or family(match.group(1)) not in families:
            continue
        if line.startswith("#") or not match.group(1).endswith(("_bucket", "_created")):
            lines.append(line)
    return "\n".join(lines) + "\n"


def parse_metrics(text: str, keep: Collection[str] | None = None) -> Snapshot:
    """sample name -> [(labels, value), ...], of every family or only those in `keep`. A
    counter family with no sample yet (declared, never incremented: SGLang's labelled
    counters) reads as `name_total` with no values, so it sums to 0 rather than being absent.
    Raises ValueError on text that is not the format."""
    from prometheus_client.parser import text_string_to_metric_families

    if keep is not None:
        text = only(text, keep)
    out: Snapshot = {}
    for family in text_string_to_metric_families(text):
        if family.type == "counter" and not family.samples:
            out.setdefault(f"{family.name}_total", [])
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def fetch_metrics(
    url: str, timeout_s: float = SCRAPE_TIMEOUT_S, keep: Collection[str] | None = None
) -> Snapshot:
    """GET and parse `url` (only the `keep` families, when given). Raises SampleError saying
    why it could not be read."""
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
        return parse_metrics(body.decode("utf-8"), keep)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SampleError(f"GET {url} is not Prometheus text format: {exc}") from None
