"""Telemetry around one run: the NPU sampler and the server's `/metrics`, started before the
run, told the measured window's edges, stopped after it; their timelines written beside the
records and summarised into the run's `telemetry` and `server_metrics` sections.

    with run_telemetry(options, base_url, records_dir, name) as session:
        run = run_throughput(..., window=session)
    run = attach_telemetry(run, session)

Nothing here can fail the run: a sampler that cannot start, a read that fails, a timeline
that cannot be written, each is recorded in its section with the reason. On Ctrl-C or an
error the samplers are stopped and what they gathered is written before the exception goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.telemetry import engines
from bench.telemetry.npu import NpuSmiReader, ReadError
from bench.telemetry.prometheus import fetch_metrics
from bench.telemetry.sampler import PeriodicSampler, SampleError, Timeline

TIMELINE_FORMAT = "bench-telemetry-v1"
EDGE_TIMEOUT_S = 2.0  # a scrape at the window's edges waits at most this long
# The window opens once the NPU sampler has a sample (so energy has one before the window's
# start to interpolate from), or after this long: warm-up normally outlasts it.
FIRST_SAMPLE_WAIT_S = 5.0
DEFAULT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class TelemetryOptions:
    """What `bench run` was asked to sample (`--npu-smi`, `--telemetry-interval`)."""

    npu_smi: str = "npu-smi"
    interval_s: float = DEFAULT_INTERVAL_S
    metrics_path: str = "/metrics"


class RunTelemetry:
    """The samplers of one run. Implements `bench.client.window.WindowHooks`."""

    def __init__(self, options: TelemetryOptions, base_url: str, out_dir: Path, name: str):
        self.options = options
        self.url = base_url.rstrip("/") + options.metrics_path
        self.out_dir = Path(out_dir)
        self.name = name
        self.reader = NpuSmiReader(options.npu_smi)
        self.npu_reason: str | None = None
        self.server_reason: str | None = None
        self.engine: engines.EngineNames | None = None
        self.engine_note: str | None = None
        self._npu: PeriodicSampler | None = None
        self._server: PeriodicSampler | None = None
        self._edges: dict[str, dict[str, Any]] = {}
        self.edge_notes: list[str] = []
        self.npu_timeline: Timeline | None = None
        self.server_timeline: Timeline | None = None
        self.files: dict[str, dict[str, Any] | str] = {}
        self._closed = False

    # -- starting -------------------------------------------------------------------------
    def start(self) -> None:
        """Start both samplers. Only the server's first scrape runs here (at most
        EDGE_TIMEOUT_S): finding the NPUs happens in the sampler's own thread."""
        interval = self.options.interval_s
        self._npu = PeriodicSampler(self._read_npus, interval, setup=self._discover)
        self._npu.start()
        try:
            first = fetch_metrics(self.url, EDGE_TIMEOUT_S)
        except SampleError as exc:
            self.server_reason = str(exc)
            return
        self._identify(first)  # else at a later scrape: a fresh server may print nothing yet
        self._server = PeriodicSampler(self._read_server, interval)
        self._server.start()

    def _identify(self, snapshot: engines.Snapshot) -> None:
        self.engine = engines.detect(snapshot)
        if self.engine is not None:
            self.engine_note = engines.prompt_note(self.engine, snapshot)

    def _discover(self) -> None:
        try:
            self.reader.discover()
        except ReadError as exc:
            raise SampleError(str(exc)) from None

    def _read_npus(self) -> dict[str, Any]:
        try:
            return {"npus": [r.as_row() for r in self.reader.read()]}
        except ReadError as exc:
            raise SampleError(str(exc)) from None

    def _read_server(self, timeout_s: float = 5.0) -> dict[str, Any]:
        if self.engine is None:
            self._identify(fetch_metrics(self.url, timeout_s))
            if self.engine is None:  # nothing counted yet, as far as can be told
                return dict.fromkeys(f.name for f in dataclasses.fields(engines.Counters))
        keep = engines.sample_names(self.engine)
        return asdict(engines.counters(fetch_metrics(self.url, timeout_s, keep), self.engine))

    # -- the window's edges (WindowHooks) -------------------------------------------------
    def window_started(self) -> None:
        if self._npu is not None:
            self._npu.first_read_done.wait(FIRST_SAMPLE_WAIT_S)
        self._edge("start")

    def window_ended(self) -> None:
        self._edge("end")

    def _edge(self, which: str) -> None:
        if self._server is None:
            return
        before = time.perf_counter_ns()
        try:
            values = self._read_server(EDGE_TIMEOUT_S)
        except SampleError as exc:
            self.edge_notes.append(f"the scrape when the window {which}ed failed: {exc}")
            return
        except Exception as exc:  # a bug here must not end the measurement: kept, said
            self.edge_notes.append(
                f"internal error in the scrape when the window {which}ed: "
                f"{type(exc).__name__}: {exc}"
            )
            return
        after = time.perf_counter_ns()
        self._edges[which] = {"t_ns": (before + after) // 2, "edge": which, **values}

    # -- stopping -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the samplers and write their timelines (once; safe to call again)."""
        if self._closed:
            return
        self._closed = True
        if self._npu is not None:
            self.npu_timeline = self._npu.stop()
            self.npu_reason = self.npu_timeline.setup_failure
            if self.npu_reason is None:
                self.files["npu"] = self._write("npu", self.npu_timeline.rows)
        if self._server is not None:
            timeline = self._server.stop()
            rows = tuple(sorted([*timeline.rows, *self._edges.values()], key=lambda r: r["t_ns"]))
            self.server_timeline = dataclasses.replace(timeline, rows=rows)
            self.files["server"] = self._write("server-metrics", rows)

    def _write(self, kind: str, rows: tuple[dict[str, Any], ...]) -> dict[str, Any] | str:
        """The timeline file's `{path, sha256, count, format}`, or why it was not written."""
        from bench.jsonio import write_atomic

        data = b"".join(
            (json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n").encode() for row in rows
        )
        path = self.out_dir / f"{self.name}.{kind}.jsonl"
        try:
            write_atomic(path, data, overwrite=False)
        except (BenchError, OSError) as exc:
            return f"the {kind} timeline could not be written: {exc}"
        return {
            "path": str(path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "count": len(rows),
            "format": TIMELINE_FORMAT,
        }


@contextlib.contextmanager
def run_telemetry(
    options: TelemetryOptions | None, base_url: str, out_dir: Path, name: str
) -> Iterator[RunTelemetry | None]:
    """Telemetry around the body (None when `options` is None: telemetry off)."""
    if options is None:
        yield None
        return
    session = RunTelemetry(options, base_url, out_dir, name)
    session.start()
    try:
        yield session
    finally:
        session.close()


def attach_telemetry(run: dict[str, Any], session: RunTelemetry | None) -> dict[str, Any]:
    """The run with its `telemetry` and `server_metrics` sections (unchanged when off)."""
    if session is None:
        return run
    from bench.telemetry.attach import server_metrics_of, telemetry_of, window_of

    window = window_of(run)
    return {
        **run,
        "telemetry": telemetry_of(session, window, run),
        "server_metrics": server_metrics_of(session),
    }
