"""The kit's load generator (`bench throughput`): asyncio + aiohttp, uvloop where available.

Warm-up requests go first and are excluded from the measured window. Then each measured
job (`bench.client.jobs`: a request, or a conversation) waits for its scheduled send time
and for a free slot under `max_concurrency`, and is sent (a conversation's next turn goes
once its turn before has finished, in a slot of its own); each record is appended to the
records file the moment its request finishes, so a crash or Ctrl-C loses nothing already
measured. If the server stops accepting connections, no further requests are sent and the
run fails, saying where the records are. With `workers` > 1 the same jobs, on the same
schedule, go out from that many processes (`bench.client.workers`); with 1 (the default)
they go out from this one.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bench.client.jobs import (
    Job,
    default_name,
    measured_jobs,
    request_specs,
    warmup_prompts,
    workload_of,
)
from bench.client.runinfo import run_async, run_object
from bench.client.sending import RunState, Sender, client_session
from bench.client.shares import workers_used
from bench.client.stream import RequestSpec
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


async def _drive(
    workload: ThroughputWorkload,
    warmups: list[RequestSpec],
    measured: list[Job],
    offsets_ns: list[int],
    tokenizer: Tokenizer,
    state: RunState,
    window: WindowHooks | None = None,
) -> None:
    limit = workload.max_concurrency
    async with client_session(limit, workload.timeout_s) as session:
        sender = Sender(
            session, state, limit=limit, timeout_s=workload.timeout_s, tokenizer=tokenizer
        )
        try:
            await sender.warm_up(warmups)
            if state.dead:
                return
            loop = asyncio.get_running_loop()
            if window is not None:  # in a worker thread: the event loop never waits on a hook
                await loop.run_in_executor(None, window.window_started)
            await sender.on_schedule(measured, offsets_ns, time.perf_counter_ns())
            if window is not None:
                await loop.run_in_executor(None, window.window_ended)
        finally:
            # Ctrl-C (cancellation) or an error: end every request still in flight before
            # the session closes under it, so none dies later with an unretrieved error.
            await sender.close()


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
    workers: int = 1,
) -> dict[str, Any]:
    """Run the workload; return the schema's `run` object (driver `bench.loadgen`).

    `progress` None shows a bar only when stderr is a terminal. `window` is told when the
    measured window opens and closes (`bench.client.window`). `workers` > 1 spreads the
    jobs over that many processes (`bench.client.workers`); 1 runs them here. Raises
    BenchError, naming the records file, when the server stops answering or a worker dies.
    """
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
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
        used = workers_used(workers, workload.max_concurrency, len(measured))
        if used == 1:
            state = RunState(writer, bar)
            run_async(_drive(workload, warmups, measured, offsets, tokenizer, state, window))
            records, dead = state.records, state.dead
        else:
            records, dead = _in_workers(
                workload, target, (warmups, measured, offsets), writer, used, bar, window
            )
    if dead:
        raise BenchError(
            f"the server at {target.base_url} stopped accepting connections ({dead}); "
            f"{writer.count} finished requests are in {records_path}"
        )
    metrics = run_metrics(
        records,
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
        notes="; ".join(
            [f"served model: {target.model}", *_workers_note(workers, used, workload, measured)]
        ),
        workers=used,
    )


def _in_workers(
    workload: ThroughputWorkload,
    target: Target,
    requests: tuple[list[RequestSpec], list[Job], list[int]],
    writer: RecordWriter,
    workers: int,
    bar: Any,
    window: WindowHooks | None,
) -> tuple[list[Record], str | None]:
    """The run's jobs sent by `workers` processes: (records, why the server died)."""
    from bench.client.workers import WorkerFailure, plan_jobs, run_workers

    warmups, measured, offsets = requests
    jobs = plan_jobs(
        str(target.tokenizer), workload.timeout_s, workload.max_concurrency,
        warmups, measured, offsets, writer.path, workers,
    )  # fmt: skip
    try:
        outcome = run_workers(jobs, writer, progress=bar, window=window)
    except WorkerFailure as exc:
        raise BenchError(f"{exc}; {writer.count} finished requests are in {writer.path}") from None
    return outcome.records, outcome.dead


def _workers_note(
    asked: int, used: int, workload: ThroughputWorkload, measured: list[Job]
) -> list[str]:
    if asked == used:
        return [f"{used} load generator workers"] if used > 1 else []
    cap = workload.max_concurrency
    why = f"max_concurrency {cap}" if cap is not None and cap < asked else f"{len(measured)} jobs"
    return [f"{asked} load generator workers asked, {used} used ({why})"]
