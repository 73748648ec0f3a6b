"""The kit's load generator (`bench throughput`): asyncio + aiohttp, uvloop where available.

Warm-up requests go first and are excluded from the measured window. Then each measured
job (`bench.client.jobs`: a request, or a conversation) waits for its scheduled send time
and for a free slot under `max_concurrency`, and is sent (a conversation's next turn goes
once its turn before has finished, in a slot of its own); each record is appended to the
records file the moment its request finishes, so a crash or Ctrl-C loses nothing already
measured. If the server stops accepting connections, no further requests are sent and the
run fails, saying where the records are.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.client.jobs import (
    Job,
    default_name,
    measured_jobs,
    request_specs,
    warmup_prompts,
    workload_of,
)
from bench.client.runinfo import run_async, run_object
from bench.client.stream import RequestSpec, exchange, write_tracing
from bench.client.target import Target
from bench.client.window import WindowHooks
from bench.errors import BenchError, UsageError
from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.utc import utc_now
from bench.workload.dataset import Tokenizer, load_tokenizer
from bench.workload.schedule import send_offsets_ns
from bench.workload.spec import ThroughputWorkload

DRIVER = "bench.loadgen"
KIT_APIS = ("chat", "completions")
DEAD_SERVER_FAILURES = 3  # connection failures in a row, with no success between


class _Run:
    """The mutable part of one run: where records go, and whether the server is gone."""

    def __init__(self, writer: RecordWriter, progress: Any) -> None:
        self.writer = writer
        self.progress = progress
        self.records: list[Record] = []
        self.connection_failures = 0
        self.dead: str | None = None

    def finished(self, record: Record) -> None:
        self.writer.write(record)
        self.records.append(record)
        if record.error_kind == "connection":
            self.connection_failures += 1
            if self.connection_failures >= DEAD_SERVER_FAILURES:
                self.dead = record.error
        elif record.ok:
            self.connection_failures = 0
        if not record.warmup and self.progress is not None:
            self.progress.update(1)


async def _drive(
    workload: ThroughputWorkload,
    warmups: list[RequestSpec],
    measured: list[Job],
    offsets_ns: list[int],
    tokenizer: Tokenizer,
    state: _Run,
    window: WindowHooks | None = None,
) -> None:
    limit = workload.max_concurrency
    connector = aiohttp.TCPConnector(limit=limit or 0, limit_per_host=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(workload.timeout_s, 30.0))
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[write_tracing()]
    ) as session:

        async def one(job: Job, scheduled_ns: int | None, slot: Any) -> None:
            """The job's request; for a conversation, each next turn once this one is done,
            in a slot of its own (scheduled when the turn before it finished)."""
            spec: RequestSpec | None = job.first
            replies: tuple[str, ...] = ()
            held = slot is not None
            try:
                while spec is not None:
                    record, text = await exchange(
                        session,
                        spec,
                        timeout_s=workload.timeout_s,
                        tokenizer=tokenizer,
                        scheduled_ns=scheduled_ns,
                    )
                    state.finished(record)
                    replies += (text,)
                    spec = job.replay.next(spec, record, replies) if job.replay else None
                    if spec is None or state.dead:
                        break
                    scheduled_ns = time.perf_counter_ns()
                    if slot is not None:
                        slot.release()
                        held = False
                        await slot.acquire()
                        held = True
            finally:
                if held:
                    slot.release()

        in_flight: list[asyncio.Task] = []
        try:
            warm_slot = asyncio.Semaphore(limit or len(warmups) or 1)
            for spec in warmups:
                await warm_slot.acquire()
                in_flight.append(asyncio.create_task(one(Job(spec), None, warm_slot)))
            await asyncio.gather(*in_flight)
            if state.dead:
                return
            loop = asyncio.get_running_loop()
            if window is not None:  # in a worker thread: the event loop never waits on a hook
                await loop.run_in_executor(None, window.window_started)
            slot = asyncio.Semaphore(limit) if limit else None
            start_ns = time.perf_counter_ns()
            for job, offset in zip(measured, offsets_ns, strict=True):
                scheduled_ns = start_ns + offset
                delay_ns = scheduled_ns - time.perf_counter_ns()
                if delay_ns > 0:
                    await asyncio.sleep(delay_ns / 1e9)
                if slot is not None:
                    await slot.acquire()
                if state.dead:
                    if slot is not None:
                        slot.release()
                    break
                in_flight.append(asyncio.create_task(one(job, scheduled_ns, slot)))
            await asyncio.gather(*in_flight)
            if window is not None:
                await loop.run_in_executor(None, window.window_ended)
        finally:
            # Ctrl-C (cancellation) or an error: end every request still in flight before
            # the session closes under it, so none dies later with an unretrieved error.
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


def run_throughput(
    workload: ThroughputWorkload,
    target: Target,
    records_path: str | Path,
    *,
    name: str | None = None,
    slo: dict[str, float | None] | None = None,
    accelerators: int | None = None,
    progress: bool | None = None,
    window: WindowHooks | None = None,
) -> dict[str, Any]:
    """Run the workload; return the schema's `run` object (driver `bench.loadgen`).

    `progress` None shows a bar only when stderr is a terminal. `window` is told when the
    measured window opens and closes (`bench.client.window`). Raises BenchError, naming the
    records file, when the server stops answering.
    """
    if workload.api not in KIT_APIS:
        raise UsageError(
            f"the kit's load generator speaks {' and '.join(KIT_APIS)}; "
            f"api {workload.api!r} needs the sglang driver"
        )
    workload.check_dataset()
    if target.tokenizer is None:
        raise UsageError("the kit's load generator needs a tokenizer (--tokenizer DIR)")
    records_path = Path(records_path)
    tokenizer = load_tokenizer(target.tokenizer)
    warmups = request_specs(workload, target, warmup_prompts(workload, tokenizer), warmup=True)
    measured = measured_jobs(workload, target, tokenizer)
    offsets = send_offsets_ns(
        workload.request_rate, len(measured), burstiness=workload.burstiness, seed=workload.seed
    )
    started = utc_now()
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm import tqdm

    with (
        RecordWriter(records_path) as writer,
        tqdm(total=workload.num_prompts, disable=not show, file=sys.stderr, unit="req") as bar,
    ):
        state = _Run(writer, bar)
        run_async(_drive(workload, warmups, measured, offsets, tokenizer, state, window))
    if state.dead:
        raise BenchError(
            f"the server at {target.base_url} stopped accepting connections ({state.dead}); "
            f"{writer.count} finished requests are in {records_path}"
        )
    metrics = run_metrics(
        state.records,
        requested_rate_rps=workload.request_rate_rps,
        slo=slo,
        accelerators=accelerators,
    )
    return run_object(
        name=name or default_name(workload),
        started_utc=started,
        workload=workload_of(workload, target.tokenizer),
        driver=DRIVER,
        records_path=records_path,
        records_sha256=writer.sha256,
        records_count=writer.count,
        metrics=metrics,
        notes=f"served model: {target.model}",
    )
