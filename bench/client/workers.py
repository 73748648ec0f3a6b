"""The load generator past one core (`--workers N`): N processes, one schedule.

The parent has built every prompt and the one schedule (`bench.workload.schedule`); it
shares the requests and the concurrency cap among the workers (`bench.client.shares`) and
starts each worker (`bench.client.worker`) with the `spawn` method: a fresh interpreter,
nothing forked from a process that already runs threads or an event loop. Then:

Jobs (`bench.client.jobs`) are shared, not requests: a conversation's turns all go from
one worker.

1. every worker sends its share of the warm-up requests (the server sees the run's warm-up
   once, as with one process) and says when they have finished;
2. when all have, the parent tells its window hooks the measured window opens, picks one
   start time a little ahead (`START_AHEAD_NS`, so every worker is listening when it comes)
   and sends it to all; each sends its requests at start + offset, as one process would;
3. when every worker has finished, the parent tells the hooks the window closed, and merges
   the workers' records files into the run's, in the order the requests finished (warm-up
   first), which is the order one process writes them; the run's file is hashed as written.

Each worker appends and flushes its records as they finish, so whatever stops the run (a
dead worker, a dead server, Ctrl-C) every finished request is on disk; the parent merges
them before it reports the failure (naming the records file), and a parent killed outright
leaves them in `RECORDS.worker-K`. If one worker finds the server dead, the others are told
to send nothing more. A worker that dies, or breaks, fails the run. Every wait is bounded;
Ctrl-C (or any error) cancels every worker, then terminates and at last kills any that do
not exit, so no worker outlives its run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bench.client.jobs import Job
from bench.client.shares import split, worker_caps
from bench.client.stream import RequestSpec
from bench.client.window import WindowHooks
from bench.client.worker import WorkerJob, worker_main
from bench.errors import BenchError, OutputExistsError
from bench.records import Record, RecordWriter
from bench.units import NS_PER_MS

START_AHEAD_NS = 50 * NS_PER_MS  # the common start, ahead of the parent's `go`
STARTUP_S = 120.0  # a worker's start-up: a fresh interpreter importing the client
GRACE_S = 60.0  # beyond every request's own timeout, for the phases' deadlines
POLL_S = 0.1  # how often the parent looks up from its connections (progress, deadlines)
EXIT_S = 10.0  # for a worker to exit once told, then again after terminate


class WorkerFailure(BenchError):
    """A worker died or broke; the message says which and how."""


@dataclass(frozen=True)
class Outcome:
    records: list[Record]  # every finished request, merged
    dead: str | None  # why the server was found dead, or None


def part_path(records_path: Path, number: int) -> Path:
    return records_path.with_name(f"{records_path.name}.worker-{number}")


def plan_jobs(
    tokenizer: str,
    timeout_s: float,
    cap: int | None,
    warmups: list[RequestSpec],
    measured: list[Job],
    offsets_ns: list[int],
    records_path: Path,
    workers: int,
) -> list[WorkerJob]:
    """Each worker's share of the run (pure). A conversation is one job: all its turns go
    from one worker. A conversation's replay travels without its tokenizer (a worker binds
    its own, loaded from the same file), so no tokenizer is pickled with every job."""
    warm_shares = split(len(warmups), workers, cap)
    shares = split(len(measured), workers, cap)
    return [
        WorkerJob(
            number=k,
            tokenizer=tokenizer,
            timeout_s=timeout_s,
            cap=share_cap,
            warmups=tuple(warmups[i] for i in warm_shares[k]),
            measured=tuple(_portable(measured[i]) for i in shares[k]),
            offsets_ns=tuple(offsets_ns[i] for i in shares[k]),
            records_path=str(part_path(records_path, k)),
        )
        for k, share_cap in enumerate(worker_caps(cap, workers))
    ]


def _portable(job: Job) -> Job:
    if job.replay is None or job.replay.count is None:
        return job
    return dataclasses.replace(job, replay=dataclasses.replace(job.replay, count=None))


def run_workers(
    jobs: list[WorkerJob],
    writer: RecordWriter,
    *,
    progress: Any = None,
    window: WindowHooks | None = None,
) -> Outcome:
    """Run the jobs, one process each; merge their records into `writer`. Raises
    WorkerFailure when a worker dies or breaks, KeyboardInterrupt on Ctrl-C, each after
    the merge."""
    for job in jobs:
        if Path(job.records_path).exists():
            raise OutputExistsError(Path(job.records_path), "a worker's records file is left")
    pool: _Pool | None = None
    try:
        pool = _Pool(jobs, progress)
        pool.wait_for("ready", STARTUP_S)
        warm = pool.wait_for("warm", _deadline_s(jobs, warmup=True))
        dead = next((d for d in warm.values() if d), None)
        if dead:
            pool.tell_all(("halt", "another worker found the server dead"))
            done = pool.wait_for("done", GRACE_S)
        else:
            if window is not None:
                window.window_started()
            pool.tell_all(("go", time.perf_counter_ns() + START_AHEAD_NS))
            done = pool.wait_for("done", _deadline_s(jobs, warmup=False), halt_on_dead=True)
            if window is not None:
                window.window_ended()
        dead = next((d for d in done.values() if d), None)
    finally:
        try:
            if pool is not None:
                pool.stop()
        finally:  # even when a second Ctrl-C cuts the stop short
            records = merge_parts([Path(job.records_path) for job in jobs], writer)
    return Outcome(records=records, dead=dead)


def _deadline_s(jobs: list[WorkerJob], *, warmup: bool) -> float:
    """No worker can take longer than its requests' timeouts one after another, after the
    schedule's last send time: a bound, not an estimate."""
    longest = 0.0
    for job in jobs:
        requests = len(job.warmups) if warmup else len(job.measured)
        span_s = 0.0 if warmup or not job.offsets_ns else max(job.offsets_ns) / 1e9
        longest = max(longest, span_s + requests * job.timeout_s)
    return longest + GRACE_S


class _Pool:
    """The worker processes and the parent's side of their connections."""

    def __init__(self, jobs: list[WorkerJob], progress: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.counts = ctx.RawArray("q", len(jobs))
        self.progress = progress
        self.shown = 0
        self.procs: list[multiprocessing.process.BaseProcess] = []
        self.conns: list[Connection] = []
        self.heard: list[dict[str, Any]] = [{} for _ in jobs]
        try:
            for job in jobs:
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(
                    target=worker_main,
                    args=(job, theirs, self.counts),
                    name=f"bench-loadgen-worker-{job.number}",
                    daemon=True,
                )
                proc.start()
                theirs.close()
                self.procs.append(proc)
                self.conns.append(mine)
        except BaseException:
            self.stop()
            raise

    def tell_all(self, message: tuple[str, Any]) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(message)

    def wait_for(self, kind: str, within_s: float, *, halt_on_dead: bool = False) -> dict[int, Any]:
        """Every worker's `kind` message (worker number -> value), within `within_s`."""
        deadline = time.monotonic() + within_s
        halted = False
        while True:
            got = {k: h[kind] for k, h in enumerate(self.heard) if kind in h}
            if halt_on_dead and not halted and any(got.values()):
                self.tell_all(("halt", "another worker found the server dead"))
                halted = True
            if len(got) == len(self.procs):
                self._show_progress()
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                waiting = sorted(set(range(len(self.procs))) - set(got))
                raise WorkerFailure(
                    f"load generator worker {waiting[0]} did not say {kind!r} within "
                    f"{within_s:.0f} s"
                )
            sentinels = [p.sentinel for p in self.procs]
            ready = wait([*self.conns, *sentinels], timeout=min(POLL_S, left))
            for k, conn in enumerate(self.conns):
                self._drain(k, conn)
            for k, proc in enumerate(self.procs):
                if proc.sentinel in ready and kind not in self.heard[k]:
                    proc.join(EXIT_S)
                    how = _how_it_ended(proc.exitcode, started="ready" in self.heard[k])
                    raise WorkerFailure(f"load generator worker {k} (pid {proc.pid}) {how}")
            self._show_progress()

    def _drain(self, number: int, conn: Connection) -> None:
        with contextlib.suppress(EOFError, OSError):
            while conn.poll():
                kind, value = conn.recv()
                if kind == "failed":
                    raise WorkerFailure(f"load generator worker {number} failed: {value}")
                self.heard[number][kind] = value

    def _show_progress(self) -> None:
        total = sum(self.counts)
        if self.progress is not None and total > self.shown:
            self.progress.update(total - self.shown)
        self.shown = total

    def stop(self) -> None:
        """Cancel every worker still running; wait for each to exit (bounded), terminate
        those that do not, then kill."""
        self.tell_all(("cancel", None))
        for step in ("join", "terminate", "kill"):
            for proc in self.procs:
                if proc.is_alive() and step != "join":
                    getattr(proc, step)()
            deadline = time.monotonic() + EXIT_S
            for proc in self.procs:
                proc.join(max(0.0, deadline - time.monotonic()))
            if not any(p.is_alive() for p in self.procs):
                break
        for conn in self.conns:
            conn.close()


def _how_it_ended(exitcode: int | None, *, started: bool) -> str:
    if exitcode is None:
        how = "stopped answering"
    elif exitcode < 0:
        how = f"was killed by signal {-exitcode}"
    else:
        how = f"exited with code {exitcode}"
    if started:
        return how + " before it finished"
    return how + f" before it started ({SPAWN_HINT}; its own error is above)"


SPAWN_HINT = (
    'a script that runs the load generator with workers needs `if __name__ == "__main__":` '
    "around its entry point, as multiprocessing's spawn method does"
)


def read_part(path: Path) -> list[Record]:
    """A worker's records file. Its last line may be torn (a worker killed mid-write):
    that line is dropped; any other bad line is an error naming the file."""
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []  # the worker never started
    records = []
    for number, line in enumerate(lines[:-1], start=1):
        try:
            records.append(Record.from_json(json.loads(line)))
        except (ValueError, RecursionError) as exc:
            raise BenchError(f"{path}:{number}: not a valid record: {exc}") from None
    return records


def merge_parts(paths: list[Path], writer: RecordWriter) -> list[Record]:
    """Every worker's records into `writer`, warm-up first, each in the order they
    finished; the workers' files are removed once merged."""
    records = [record for path in paths for record in read_part(path)]
    records.sort(key=lambda r: (not r.warmup, r.done_ns, r.index))
    for record in records:
        writer.write(record)
    for path in paths:
        path.unlink(missing_ok=True)
    return records
