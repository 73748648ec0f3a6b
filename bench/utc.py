"""Wall-clock time for humans: one format for every timestamp the kit writes.

Durations are never taken from here (they come from `time.perf_counter_ns()`); these are
the creation and start times a reader sees, in UTC, to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now(at: float | None = None) -> str:
    """`2026-11-26T13:19:31Z`: now, or the Unix time `at`."""
    moment = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
    return moment.strftime(FORMAT)


def utc_stamp(at: float | None = None) -> str:
    """`20261126T131931Z`: the same instant, for file names."""
    return utc_now(at).replace("-", "").replace(":", "")
