"""One load-generator worker: a process of its own with its own event loop (uvloop where
installed), sending its share of a run's requests (`bench.client.workers` starts it).

It talks to the parent over one connection. It says `ready` once started, `warm` when its
warm-up requests have finished, and `done` (with the reason, if it found the server dead)
when its measured requests have; `failed` if it broke. The parent says `go` with the common
start time (a `time.perf_counter_ns()` value: CLOCK_MONOTONIC, one clock for every process
on the host), `halt` (send nothing more; let requests in flight end) or `cancel` (end
everything now). A closed connection means the parent is gone: the worker cancels
everything and exits, so it never outlives its run. Ctrl-C at a terminal reaches every
process of the group; a worker ignores it and waits for the parent's word.

Each record is appended to the worker's own records file and flushed as it finishes (the
parent merges the files), and counted in `progress[number]` for the progress bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.client.jobs import Job
from bench.client.runinfo import run_async
from bench.client.sending import RunState, Sender, client_session
from bench.client.stream import RequestSpec
from bench.records import RecordWriter
from bench.workload.dataset import load_tokenizer


@dataclass(frozen=True)
class WorkerJob:
    """What worker `number` sends: its share of the warm-up and measured requests, and the
    measured requests' offsets from the common start."""

    number: int
    tokenizer: str
    timeout_s: float
    cap: int | None
    warmups: tuple[RequestSpec, ...]
    measured: tuple[Job, ...]  # a conversation's replay without its tokenizer: bound here
    offsets_ns: tuple[int, ...]
    records_path: str


class _Count:
    """The progress bar's view of this worker: measured requests finished so far."""

    def __init__(self, progress: Any, number: int) -> None:
        self.progress = progress
        self.number = number

    def update(self, n: int) -> None:
        self.progress[self.number] += n  # only this worker writes its slot


def worker_main(job: WorkerJob, conn: Connection, progress: Any) -> None:
    """The worker process's entry point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        dead = run_async(_work(job, conn, progress))
    except asyncio.CancelledError:
        return  # the parent said cancel, or is gone: it does not wait for a word
    except BaseException as exc:
        _tell(conn, "failed", f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None
    _tell(conn, "done", dead)


def _tell(conn: Connection, kind: str, value: Any) -> None:
    with contextlib.suppress(OSError, ValueError):  # the parent is gone; records are on disk
        conn.send((kind, value))


async def _work(job: WorkerJob, conn: Connection, progress: Any) -> str | None:
    """Warm up, wait for the start, send on the schedule; the reason the server was found
    dead, or None."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    go: asyncio.Future[int | None] = loop.create_future()
    tokenizer = load_tokenizer(job.tokenizer)
    with RecordWriter(job.records_path) as writer:
        state = RunState(writer, _Count(progress, job.number))

        def heard() -> None:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                kind, value = "cancel", None
            if kind == "go" and not go.done():
                go.set_result(value)
            elif kind == "halt":
                state.stopped = value
                if not go.done():
                    go.set_result(None)
            elif kind == "cancel":
                loop.remove_reader(conn.fileno())
                main.cancel()

        loop.add_reader(conn.fileno(), heard)
        try:
            conn.send(("ready", None))
            async with client_session(job.cap, job.timeout_s) as session:
                sender = Sender(
                    session, state, limit=job.cap, timeout_s=job.timeout_s, tokenizer=tokenizer
                )
                try:
                    await sender.warm_up(list(job.warmups))
                    conn.send(("warm", state.dead))
                    start_ns = await go
                    if start_ns is not None and not state.stopping:
                        measured = [_bound(j, tokenizer) for j in job.measured]
                        await sender.on_schedule(measured, list(job.offsets_ns), start_ns)
                finally:
                    await sender.close()
        finally:
            loop.remove_reader(conn.fileno())
    return state.dead


def _bound(job: Job, tokenizer: Any) -> Job:
    """A conversation's replay counting prompts with this worker's tokenizer."""
    if job.replay is None:
        return job
    return dataclasses.replace(job, replay=dataclasses.replace(job.replay, count=tokenizer.count))
