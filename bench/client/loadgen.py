"""The kit's load generator (`bench throughput`): asyncio + aiohttp, uvloop where available.

Warm-up requests go first and are excluded from the measured window. Then each measured
request waits for its scheduled send time and for a free slot under `max_concurrency`,
and is sent; its record is appended to the records file the moment it finishes, so a
crash or Ctrl-C loses nothing already measured. If the server stops accepting
connections, no further requests are sent and the run fails, saying where the records are.
With `workers` > 1 the same requests, on the same schedule, go out from that many processes
(`bench.client.workers`); with 1 (the default) they go out from this one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.client.api import endpoint_url, request_body, request_id
from bench.client.runinfo import run_async, run_object, workload_object
from bench.client.sending import RunState, Sender, client_session
from bench.client.shares import workers_used
from bench.client.stream import RequestSpec
from bench.client.target import Target
from bench.client.window import WindowHooks
from bench.errors import BenchError, UsageError
from bench.jsonio import sha256_file
from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.utc import utc_now
from bench.workload.dataset import (
    Prompt,
    Tokenizer,
    load_tokenizer,
    random_prompts,
    sharegpt_prompts,
)
from bench.workload.schedule import send_offsets_ns
from bench.workload.spec import RANDOM_OUTPUT_LEN, ThroughputWorkload

DRIVER = "bench.loadgen"
KIT_APIS = ("chat", "completions")
WARMUP_SEED_OFFSET = 1_000_003  # warm-up prompts never repeat a measured prompt's prefix


def build_prompts(
    workload: ThroughputWorkload, tokenizer: Tokenizer
) -> tuple[list[Prompt], list[Prompt]]:
    """(warm-up prompts, measured prompts), both from seeded generators."""
    if workload.dataset == "sharegpt":
        measured = sharegpt_prompts(
            tokenizer,
            workload.dataset_path or "",
            num_prompts=workload.num_prompts,
            output_len=workload.output_len,
            seed=workload.seed,
        )
    else:
        measured = random_prompts(
            tokenizer,
            num_prompts=workload.num_prompts,
            input_len=workload.input_len,
            output_len=workload.output_len or RANDOM_OUTPUT_LEN,
            range_ratio=workload.range_ratio,
            seed=workload.seed,
        )
    warmup = (
        random_prompts(
            tokenizer,
            num_prompts=workload.warmup,
            input_len=workload.input_len,
            output_len=workload.output_len or RANDOM_OUTPUT_LEN,
            range_ratio=1.0,
            seed=workload.seed + WARMUP_SEED_OFFSET,
        )
        if workload.warmup
        else []
    )
    return warmup, measured


def request_specs(
    workload: ThroughputWorkload, target: Target, prompts: list[Prompt], *, warmup: bool
) -> list[RequestSpec]:
    url = endpoint_url(target.base_url, workload.api)
    specs = []
    for i, p in enumerate(prompts):
        body = request_body(
            workload.api, target.model, p.text, p.output_tokens, ignore_eos=workload.ignore_eos
        )
        specs.append(
            RequestSpec(
                index=i,
                rid=request_id(),
                url=url,
                body=body,
                payload=json.dumps(body).encode(),
                warmup=warmup,
                # the client knows the prompt's exact count only without a chat template
                prompt_tokens_client=p.prompt_tokens if workload.api == "completions" else None,
                requested_output_tokens=p.output_tokens,
            )
        )
    return specs


async def _drive(
    workload: ThroughputWorkload,
    warmups: list[RequestSpec],
    measured: list[RequestSpec],
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


def workload_of(workload: ThroughputWorkload, tokenizer_path: Path) -> dict[str, Any]:
    """The schema's `workload` of a run of the kit's load generator."""
    sharegpt = workload.dataset == "sharegpt"
    path = Path(workload.dataset_path) if sharegpt and workload.dataset_path else None
    return workload_object(
        dataset=workload.dataset,
        dataset_path=str(path) if path else None,
        dataset_sha256=sha256_file(path) if path else None,
        input_len=None if sharegpt else workload.input_len,
        output_len=workload.output_len,
        range_ratio=None if sharegpt else workload.range_ratio,
        num_prompts=workload.num_prompts,
        max_concurrency=workload.max_concurrency,
        request_rate_rps=workload.request_rate_rps,
        burstiness=workload.burstiness,
        warmup_requests=workload.warmup,
        seed=workload.seed,
        api=workload.api,
        ignore_eos=workload.ignore_eos,
        stream=True,
        timeout_s=workload.timeout_s,
        tokenizer=str(tokenizer_path),
    )


def default_name(workload: ThroughputWorkload) -> str:
    return f"throughput-{workload.dataset}-{workload.input_len}-{workload.output_len}"


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
    streams over that many processes (`bench.client.workers`); 1 runs them here. Raises
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
    warm_prompts, prompts = build_prompts(workload, tokenizer)
    warmups = request_specs(workload, target, warm_prompts, warmup=True)
    measured = request_specs(workload, target, prompts, warmup=False)
    offsets = send_offsets_ns(
        workload.request_rate, len(measured), burstiness=workload.burstiness, seed=workload.seed
    )
    started = utc_now()
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm import tqdm

    with (
        RecordWriter(records_path) as writer,
        tqdm(total=len(measured), disable=not show, file=sys.stderr, unit="req") as bar,
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
        notes="; ".join([f"served model: {target.model}", *_workers_note(workers, used, workload)]),
        workers=used,
    )


def _in_workers(
    workload: ThroughputWorkload,
    target: Target,
    requests: tuple[list[RequestSpec], list[RequestSpec], list[int]],
    writer: RecordWriter,
    workers: int,
    bar: Any,
    window: WindowHooks | None,
) -> tuple[list[Record], str | None]:
    """The run's requests sent by `workers` processes: (records, why the server died)."""
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


def _workers_note(asked: int, used: int, workload: ThroughputWorkload) -> list[str]:
    if asked == used:
        return [f"{used} load generator workers"] if used > 1 else []
    why = (
        f"max_concurrency {workload.max_concurrency}"
        if workload.max_concurrency is not None and workload.max_concurrency < asked
        else f"{workload.num_prompts} measured requests"
    )
    return [f"{asked} load generator workers asked, {used} used ({why})"]
