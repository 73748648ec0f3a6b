"""A zero TPOT or ITL: honest when the replies arrived in one read, and then said so.

The client stamps every chunk of one read of the connection with that read's time, so a
reply that the server (or a gateway or buffering proxy in front of it) wrote in one piece
has all its chunks at one time: its TPOT is 0 and its ITL gaps are 0. That is a true
measurement of how the reply was delivered, not of how fast it was generated. The evidence
is the run's `metrics.delivery` (computed from the records by `bench.metrics.delivery`, and
recomputed from them by the validator when they are beside the document).

- `check_zero_tpot_has_delivery_evidence` (consistency): a zero mean or median TPOT needs
  replies that arrived in one read; so does a zero minimum when the document gives delivery
  figures (one without them, from an older kit or another driver, may have a zero minimum:
  one short reply can arrive whole). Single-read replies are at most the TPOT count, and
  any of them makes the minimum TPOT 0.
- `check_delivery_shaped_latencies` (advice, always a warning): a zero median TPOT that the
  delivery figures explain is kept, and the warning says what TPOT and ITL then describe.
  A zero median ITL alone is not warned about (it never was an error): it also comes from
  reads that carry several chunks, as a client that reads late sees of any fast server,
  and the delivery figures (`tokens_per_read`) show that.
"""

from __future__ import annotations

from typing import Any

from bench.validate.findings import Issue, fmt, num, pointer, runs, sub

DELIVERY = "metrics.delivery.single_read_requests"


def single_read_requests(metrics: dict[str, Any]) -> float | None:
    """The run's count of replies that arrived in one read; None when it gives none."""
    return num(sub(metrics, "delivery"), "single_read_requests")


def tpot_without_single_reads_ms(metrics: dict[str, Any]) -> float | None:
    """Mean TPOT over the replies that did not arrive in one read (theirs is exactly 0):
    mean x count / (count - single_read_requests); the mean itself when none did; None
    when every reply did, or the figures are missing."""
    tpot = sub(metrics, "tpot_ms")
    mean, count = num(tpot, "mean"), num(tpot, "count")
    single = single_read_requests(metrics)
    if not single or mean is None:
        return mean
    if count is None or count <= single:
        return None
    return mean * count / (count - single)


def check_zero_tpot_has_delivery_evidence(doc: Any) -> list[Issue]:
    """A zero TPOT statistic is backed by replies that arrived in one read, and the count of
    such replies agrees with the TPOT figures."""
    out = []
    for base, run in runs(doc):
        metrics = sub(run, "metrics")
        tpot = sub(metrics, "tpot_ms")
        single = single_read_requests(metrics)
        where = (*base, "metrics", "tpot_ms")
        for stat in ("mean", "median", "min"):
            if num(tpot, stat) != 0 or single:
                continue
            if single is None and stat == "min":
                continue  # no delivery figures: a zero minimum was always accepted
            evidence = (
                "the document gives no delivery figures (metrics.delivery)"
                if single is None
                else f"{DELIVERY} is 0"
            )
            out.append(
                Issue(
                    pointer(*where, stat),
                    f"tpot_ms {stat} is 0 ms; a latency must be above zero unless replies "
                    f"arrived in one read, and {evidence}",
                )
            )
        if not single:
            continue
        count, low = num(tpot, "count"), num(tpot, "min")
        at = pointer(*base, "metrics", "delivery", "single_read_requests")
        if count is not None and single > count:
            out.append(
                Issue(
                    at,
                    f"{fmt(single)} replies arrived in one read, more than the {fmt(count)} "
                    f"TPOT applies to (tpot_ms.count)",
                )
            )
        if low is not None and low > 0:
            out.append(
                Issue(
                    at,
                    f"{fmt(single)} replies arrived in one read, but tpot_ms min is "
                    f"{fmt(low)} ms: a reply that arrived in one read has a TPOT of 0",
                )
            )
    return out


def _evidence(metrics: dict[str, Any]) -> str:
    """What the run's delivery figures say, in words."""
    delivery = sub(metrics, "delivery")
    single = num(delivery, "single_read_requests") or 0
    count = num(sub(metrics, "tpot_ms"), "count")
    text = f"{fmt(single)} of {'?' if count is None else fmt(count)} replies arrived in one read"
    reads = sub(delivery, "tokens_per_read")
    mean, most = num(reads, "mean"), num(reads, "max")
    if mean is not None and most is not None:
        text += f" (a read brought {fmt(mean)} tokens on average, {fmt(most)} at most)"
    return text


def check_delivery_shaped_latencies(doc: Any) -> list[Issue]:
    """A zero median (or mean) TPOT that replies delivered whole explain is kept, with a
    warning: TPOT, and ITL with it, then describe delivery, not generation."""
    out = []
    for base, run in runs(doc):
        metrics = sub(run, "metrics")
        stats = sub(metrics, "tpot_ms")
        stat = next((s for s in ("median", "mean") if num(stats, s) == 0), None)
        if stat is None or not single_read_requests(metrics):
            continue  # without evidence, an error of the consistency check
        out.append(
            Issue(
                pointer(*base, "metrics", "tpot_ms", stat),
                f"tpot_ms {stat} is 0 ms: {_evidence(metrics)}, so TPOT and ITL here describe "
                "how the replies were delivered (in one piece), not how fast they were "
                "generated",
            )
        )
    return out


CHECKS = [check_zero_tpot_has_delivery_evidence]
ADVICE_CHECKS = [check_delivery_shaped_latencies]
