"""Sending requests on one event loop: the part of the load generator that one process runs
(`bench.client.loadgen` alone, or each of its workers, `bench.client.workers`).

`Sender` sends warm-up requests under the concurrency cap, then the measured jobs
(`bench.client.jobs`: a request, or a conversation whose turns follow each other) on their
schedule, each one waiting for its send time and then for a free slot. Every record
goes to the `RunState` the moment its request finishes (appended to the records file and
flushed, so a crash or Ctrl-C loses nothing already measured). When the server refuses
connections `DEAD_SERVER_FAILURES` times in a row, or someone `stop`s the run, no further
request is sent; requests already in flight end on their own. `close()` cancels whatever
is still in flight (Ctrl-C, an error) before the session closes under it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.client.counting import TokenCounter
from bench.client.jobs import Job
from bench.client.stream import RequestSpec, exchange, write_tracing
from bench.records import Record, RecordWriter

DEAD_SERVER_FAILURES = 3  # connection failures in a row, with no success between


class RunState:
    """The mutable part of one run: where records go, and whether to stop sending.

    `dead` is set when the server stopped accepting connections; `stopped` when someone
    else said to stop (another worker found the server dead). `progress.update(1)` is
    called for every measured record."""

    def __init__(self, writer: RecordWriter, progress: Any) -> None:
        self.writer = writer
        self.progress = progress
        self.records: list[Record] = []
        self.connection_failures = 0
        self.dead: str | None = None
        self.stopped: str | None = None

    @property
    def stopping(self) -> bool:
        return self.dead is not None or self.stopped is not None

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


def client_session(limit: int | None, timeout_s: float) -> aiohttp.ClientSession:
    """One aiohttp session: a pool of at most `limit` connections (None: no limit), kept
    alive, and the trace that stamps when each request's last byte was written."""
    connector = aiohttp.TCPConnector(limit=limit or 0, limit_per_host=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout_s, 30.0))
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[write_tracing()]
    )


class Sender:
    """Sends requests on `session` with at most `limit` in flight (None: no cap)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        state: RunState,
        *,
        limit: int | None,
        timeout_s: float,
        tokenizer: TokenCounter | None,
    ) -> None:
        self.session = session
        self.state = state
        self.limit = limit
        self.timeout_s = timeout_s
        self.tokenizer = tokenizer
        self.in_flight: list[asyncio.Task] = []

    async def _one(self, job: Job, scheduled_ns: int | None, slot: Any) -> None:
        """The job's request; for a conversation, each next turn once this one is done, in
        a slot of its own (scheduled when the turn before it finished)."""
        spec: RequestSpec | None = job.first
        replies: tuple[str, ...] = ()
        held = slot is not None
        try:
            while spec is not None:
                record, text = await exchange(
                    self.session,
                    spec,
                    timeout_s=self.timeout_s,
                    tokenizer=self.tokenizer,
                    scheduled_ns=scheduled_ns,
                )
                self.state.finished(record)
                replies += (text,)
                spec = job.replay.next(spec, record, replies) if job.replay else None
                if spec is None or self.state.stopping:
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

    async def warm_up(self, warmups: list[RequestSpec]) -> None:
        """Every warm-up request, under the cap, until all have finished."""
        slot = asyncio.Semaphore(self.limit or len(warmups) or 1)
        for spec in warmups:
            await slot.acquire()
            self.in_flight.append(asyncio.create_task(self._one(Job(spec), None, slot)))
        await asyncio.gather(*self.in_flight)

    async def on_schedule(self, measured: list[Job], offsets_ns: list[int], start_ns: int) -> None:
        """Each job at `start_ns + offset` (perf_counter_ns) or as soon after as a slot is
        free, until all have finished or the run is stopping."""
        slot = asyncio.Semaphore(self.limit) if self.limit else None
        for job, offset in zip(measured, offsets_ns, strict=True):
            scheduled_ns = start_ns + offset
            delay_ns = scheduled_ns - time.perf_counter_ns()
            if delay_ns > 0:
                await asyncio.sleep(delay_ns / 1e9)
            if slot is not None:
                await slot.acquire()
            if self.state.stopping:
                if slot is not None:
                    slot.release()
                break
            self.in_flight.append(asyncio.create_task(self._one(job, scheduled_ns, slot)))
        await asyncio.gather(*self.in_flight)

    async def close(self) -> None:
        """End every request still in flight, so none dies later with an unretrieved error
        after the session has closed."""
        for task in self.in_flight:
            task.cancel()
        await asyncio.gather(*self.in_flight, return_exceptions=True)
