"""One small interface for every sampler: start before the measured window, stop after it,
get a timeline back. The sampling runs in a daemon thread, off the load generator's event
loop, so a slow read (npu-smi takes tens to hundreds of milliseconds) never delays a request.

`PeriodicSampler(read, interval_s, setup=...)` runs `setup()` (finding the NPUs, say) in its
thread, so even a hung tool cannot hold up the run; then calls `read()` at once, then on
absolute deadlines every
`interval_s` (a slow read does not push the next one back; a read that overruns a deadline
makes the sampler skip to the next one, and the timeline shows the gap), and once more when
stopped, so the window has a sample on each side. Each sample is stamped with the middle of
its read, `time.perf_counter_ns()`, the clock of the records. A read that fails with
`SampleError` is counted and its reason kept; the sampler goes on. Any other exception is a
bug in the reader: it is kept as the reason and the sampler stops, never the measurement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.utc import utc_now

STOP_GRACE_S = 3.0  # beyond one interval, how long stop() waits for the thread to end


class SampleError(Exception):
    """A read failed this time (timeout, unparsable output, HTTP error): recorded, not fatal."""


@dataclass(frozen=True)
class Timeline:
    """What one sampler gathered. `rows` are dicts with `t_ns` first."""

    interval_s: float
    started_utc: str
    started_ns: int
    rows: tuple[dict[str, Any], ...]
    failed_reads: int = 0
    failure: str | None = None  # the first failed read's reason
    stopped_by: str | None = None  # a bug in the reader, when one stopped it
    setup_failure: str | None = None  # why the sampler could not start reading
    notes: tuple[str, ...] = field(default_factory=tuple)


class PeriodicSampler:
    def __init__(
        self,
        read: Callable[[], dict[str, Any]],
        interval_s: float,
        *,
        setup: Callable[[], None] | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError("the sampling interval must be positive")
        self._read = read
        self._setup = setup
        self._setup_failure: str | None = None
        self.interval_s = interval_s
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.first_read_done = threading.Event()  # set after the first read (or setup failed)
        self._failed = 0
        self._failure: str | None = None
        self._bug: str | None = None
        self.started_utc = ""
        self.started_ns = 0

    def start(self) -> None:
        self.started_utc = utc_now()
        self.started_ns = time.perf_counter_ns()
        self._thread = threading.Thread(target=self._loop, name="bench-telemetry", daemon=True)
        self._thread.start()

    def sample_now(self) -> None:
        """One read at once, from the calling thread (the window's edges)."""
        self._sample()

    def stop(self) -> Timeline:
        """Stop (one last read first) and return the timeline. Bounded: a thread still
        reading after the grace period is left behind (it is a daemon) and said so."""
        notes = []
        if self._thread is not None:
            self._stop.set()
            self._thread.join(self.interval_s + STOP_GRACE_S)
            if self._thread.is_alive():
                notes.append(
                    "the sampler was still reading when the run ended; later reads dropped"
                )
        with self._lock:
            rows = tuple(sorted(self._rows, key=lambda r: r["t_ns"]))
            return Timeline(
                interval_s=self.interval_s,
                started_utc=self.started_utc,
                started_ns=self.started_ns,
                rows=rows,
                failed_reads=self._failed,
                failure=self._failure,
                stopped_by=self._bug,
                setup_failure=self._setup_failure,
                notes=tuple(notes),
            )

    def _sample(self) -> bool:
        """One read; False when the reader has a bug and sampling must stop."""
        before = time.perf_counter_ns()
        try:
            values = self._read()
        except SampleError as exc:
            with self._lock:
                self._failed += 1
                self._failure = self._failure or str(exc)
            return True
        except Exception as exc:  # a bug in the reader must not end the measurement
            with self._lock:
                self._bug = f"internal error in the sampler: {type(exc).__name__}: {exc}"
            return False
        after = time.perf_counter_ns()
        with self._lock:
            self._rows.append({"t_ns": (before + after) // 2, **values})
        return True

    def _loop(self) -> None:
        if self._setup is not None:
            try:
                self._setup()
            except SampleError as exc:
                with self._lock:
                    self._setup_failure = str(exc)
                self.first_read_done.set()
                return
        interval_ns = round(self.interval_s * 1e9)
        deadline = time.perf_counter_ns()
        while True:
            stopping = self._stop.is_set()  # a read begun after stop() is the last one
            ok = self._sample()
            self.first_read_done.set()
            if not ok or stopping:
                return
            deadline += interval_ns
            now = time.perf_counter_ns()
            if now > deadline:  # the read overran: skip to the next deadline ahead
                deadline += -(-(now - deadline) // interval_ns) * interval_ns
            self._stop.wait((deadline - now) / 1e9)
