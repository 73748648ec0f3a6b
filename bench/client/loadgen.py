"""The kit's load generator (`bench throughput`): asyncio + aiohttp, uvloop where available.

Warm-up requests go first and are excluded from the measured window. Then each measured
request waits for its scheduled send time and for a free slot under `max_concurrency`,
and is sent; its record is appended to the records file the moment it finishes, so a
crash or Ctrl-C loses nothing already measured. If the server stops accepting
connections, no further requests are sent and the run fails, saying where the records are.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.client.api import endpoint_url, request_body, request_id
from bench.client.runinfo import (
    discover_model,
    resolve_tokenizer,
    run_async,
    run_object,
    utc_now,
    workload_object,
)
from bench.client.stream import RequestSpec, send_request, write_tracing
from bench.errors import BenchError, UsageError
from bench.jsonio import sha256_file
from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.workload.dataset import (
    Prompt,
    Tokenizer,
    load_tokenizer,
    random_prompts,
    sharegpt_prompts,
)
from bench.workload.schedule import send_offsets_ns

DRIVER = "bench.loadgen"
WARMUP_SEED_OFFSET = 1_000_003  # warm-up prompts never repeat a measured prompt's prefix
DEAD_SERVER_FAILURES = 3  # connection failures in a row, with no success between


@dataclass(frozen=True)
class LoadConfig:
    """A throughput run. `request_rate` is requests/s (math.inf = all at once)."""

    base_url: str
    model: str | None = None
    api: str = "chat"
    tokenizer: str | None = None
    dataset: str = "random"
    dataset_path: str | None = None
    input_len: int = 512
    output_len: int | None = 256  # sharegpt: None = each reply's own length
    range_ratio: float = 1.0
    num_prompts: int = 200
    max_concurrency: int | None = None
    request_rate: float = math.inf
    burstiness: float = 1.0
    seed: int = 0
    warmup: int = 1
    timeout: float = 600.0
    ignore_eos: bool = True
    slo_ttft_ms: float | None = None
    slo_tpot_ms: float | None = None
    slo_e2e_ms: float | None = None
    accelerators: int | None = None
    name: str | None = None
    progress: bool | None = None  # None: a progress bar only when stderr is a terminal

    def __post_init__(self) -> None:
        if self.num_prompts < 1:
            raise UsageError("--num-prompts must be at least 1")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise UsageError("--max-concurrency must be at least 1")
        if self.warmup < 0:
            raise UsageError("--warmup cannot be negative")
        if not self.timeout > 0:
            raise UsageError("--timeout must be positive")
        if self.dataset not in ("random", "sharegpt"):
            raise UsageError(f"--dataset must be random or sharegpt, got {self.dataset!r}")
        if self.dataset == "sharegpt" and not self.dataset_path:
            raise UsageError("--dataset sharegpt needs --dataset-path FILE (never downloaded)")
        if self.dataset == "random" and self.output_len is None:
            raise UsageError("--dataset random needs --output-len")


def build_prompts(config: LoadConfig, tokenizer: Tokenizer) -> tuple[list[Prompt], list[Prompt]]:
    """(warm-up prompts, measured prompts), both from seeded generators."""
    if config.dataset == "sharegpt":
        measured = sharegpt_prompts(
            tokenizer,
            config.dataset_path or "",
            num_prompts=config.num_prompts,
            output_len=config.output_len,
            seed=config.seed,
        )
    else:
        measured = random_prompts(
            tokenizer,
            num_prompts=config.num_prompts,
            input_len=config.input_len,
            output_len=config.output_len,
            range_ratio=config.range_ratio,
            seed=config.seed,
        )
    warmup = (
        random_prompts(
            tokenizer,
            num_prompts=config.warmup,
            input_len=config.input_len,
            output_len=config.output_len or 256,
            range_ratio=1.0,
            seed=config.seed + WARMUP_SEED_OFFSET,
        )
        if config.warmup
        else []
    )
    return warmup, measured


def request_specs(
    config: LoadConfig, model: str, prompts: list[Prompt], *, warmup: bool
) -> list[RequestSpec]:
    url = endpoint_url(config.base_url, config.api)
    specs = []
    for i, p in enumerate(prompts):
        body = request_body(
            config.api, model, p.text, p.output_tokens, ignore_eos=config.ignore_eos
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
                prompt_tokens_client=p.prompt_tokens if config.api == "completions" else None,
                requested_output_tokens=p.output_tokens,
            )
        )
    return specs


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
    config: LoadConfig,
    warmups: list[RequestSpec],
    measured: list[RequestSpec],
    offsets_ns: list[int],
    tokenizer: Tokenizer,
    state: _Run,
) -> None:
    limit = config.max_concurrency
    connector = aiohttp.TCPConnector(limit=limit or 0, limit_per_host=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(config.timeout, 30.0))
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[write_tracing()]
    ) as session:

        async def one(spec: RequestSpec, scheduled_ns: int | None, slot: Any) -> None:
            try:
                record = await send_request(
                    session,
                    spec,
                    timeout_s=config.timeout,
                    tokenizer=tokenizer,
                    scheduled_ns=scheduled_ns,
                )
                state.finished(record)
            finally:
                if slot is not None:
                    slot.release()

        warm_slot = asyncio.Semaphore(limit or len(warmups) or 1)
        warm_tasks = []
        for spec in warmups:
            await warm_slot.acquire()
            warm_tasks.append(asyncio.create_task(one(spec, None, warm_slot)))
        await asyncio.gather(*warm_tasks)
        if state.dead:
            return

        slot = asyncio.Semaphore(limit) if limit else None
        tasks = []
        start_ns = time.perf_counter_ns()
        for spec, offset in zip(measured, offsets_ns, strict=True):
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
            tasks.append(asyncio.create_task(one(spec, scheduled_ns, slot)))
        await asyncio.gather(*tasks)


def workload_of(config: LoadConfig, tokenizer_path: Path) -> dict[str, Any]:
    path = (
        Path(config.dataset_path) if config.dataset == "sharegpt" and config.dataset_path else None
    )
    return workload_object(
        dataset=config.dataset,
        dataset_path=str(path) if path else None,
        dataset_sha256=sha256_file(path) if path else None,
        input_len=config.input_len if config.dataset == "random" else None,
        output_len=config.output_len,
        range_ratio=config.range_ratio if config.dataset == "random" else None,
        num_prompts=config.num_prompts,
        max_concurrency=config.max_concurrency,
        request_rate_rps=None if math.isinf(config.request_rate) else config.request_rate,
        burstiness=config.burstiness,
        warmup_requests=config.warmup,
        seed=config.seed,
        api=config.api,
        ignore_eos=config.ignore_eos,
        stream=True,
        timeout_s=config.timeout,
        tokenizer=str(tokenizer_path),
    )


def run_throughput(config: LoadConfig, records_path: str | Path) -> dict[str, Any]:
    """Run the workload; return the schema's `run` object (driver `bench.loadgen`).

    Raises BenchError, naming the records file, when the server stops answering.
    """
    records_path = Path(records_path)
    tokenizer_path = resolve_tokenizer(config.tokenizer, config.model)
    tokenizer = load_tokenizer(tokenizer_path)
    model = config.model or discover_model(config.base_url)
    warm_prompts, prompts = build_prompts(config, tokenizer)
    warmups = request_specs(config, model, warm_prompts, warmup=True)
    measured = request_specs(config, model, prompts, warmup=False)
    offsets = send_offsets_ns(
        config.request_rate, len(measured), burstiness=config.burstiness, seed=config.seed
    )
    started = utc_now()
    show = sys.stderr.isatty() if config.progress is None else config.progress
    from tqdm import tqdm

    with (
        RecordWriter(records_path) as writer,
        tqdm(total=len(measured), disable=not show, file=sys.stderr, unit="req") as bar,
    ):
        state = _Run(writer, bar)
        run_async(_drive(config, warmups, measured, offsets, tokenizer, state))
    if state.dead:
        raise BenchError(
            f"the server at {config.base_url} stopped accepting connections ({state.dead}); "
            f"{writer.count} finished requests are in {records_path}"
        )
    metrics = run_metrics(
        state.records,
        requested_rate_rps=None if math.isinf(config.request_rate) else config.request_rate,
        slo={
            "ttft_ms": config.slo_ttft_ms,
            "tpot_ms": config.slo_tpot_ms,
            "e2e_ms": config.slo_e2e_ms,
        },
        accelerators=config.accelerators,
    )
    name = config.name or f"throughput-{config.dataset}-{config.input_len}-{config.output_len}"
    return run_object(
        name=name,
        started_utc=started,
        workload=workload_of(config, tokenizer_path),
        driver=DRIVER,
        records_path=records_path,
        records_sha256=writer.sha256,
        records_count=writer.count,
        metrics=metrics,
        notes=f"served model: {model}",
    )
