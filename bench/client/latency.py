"""The article's latency probe, done right, with the standard `openai` SDK (`bench latency`).

One request at a time: `warmup` unmeasured runs, then `runs` measured ones. Each run
sends a prompt of exactly `input_tokens` tokens (built with the tokenizer; a different
prompt each run, so the server's prefix cache cannot answer from an earlier run), asks
for `output_tokens` with `ignore_eos` (an SGLang/vLLM extension, sent in `extra_body`)
and for usage (`stream_options.include_usage`). TTFT is taken at the first chunk with
content, TPOT = (E2E - TTFT) / (N_out - 1). The send time is taken by an httpx request
hook, just before the request goes out, so the SDK's own request building is not timed.
Each chunk is stamped with the time the bytes that completed it were read from the
connection (an httpx response hook wraps the body's stream), as the load generator does,
so a reply the server wrote in one piece shows as one read, not as the SDK's parsing pace.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client.api import API_KEY_ENV, request_body, request_id
from bench.client.runinfo import (
    discover_model,
    resolve_tokenizer,
    run_object,
    utc_now,
    workload_object,
)
from bench.client.sse import StreamState
from bench.client.stream import RequestSpec, to_record
from bench.errors import BenchError, UsageError
from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.workload.dataset import Tokenizer, load_tokenizer, random_prompts

DRIVER = "bench.latency"


@dataclass(frozen=True)
class LatencyConfig:
    base_url: str
    model: str | None = None
    api: str = "chat"
    tokenizer: str | None = None
    input_tokens: int = 4096
    output_tokens: int = 512
    runs: int = 10
    warmup: int = 2
    timeout: float = 600.0
    ignore_eos: bool = True
    seed: int = 0
    name: str | None = None

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError("--runs must be at least 1")
        if self.warmup < 0:
            raise UsageError("--warmup cannot be negative")
        if self.input_tokens < 1 or self.output_tokens < 1:
            raise UsageError("--input-tokens and --output-tokens must be at least 1")
        if not self.timeout > 0:
            raise UsageError("--timeout must be positive")
        if self.api not in ("chat", "completions"):
            raise UsageError(f"--api must be chat or completions, got {self.api!r}")


def _client(config: LatencyConfig, sent: dict[str, int]) -> Any:
    import httpx
    import openai

    def on_request(_request: httpx.Request) -> None:
        sent["ns"] = time.perf_counter_ns()

    class ReadTimes(httpx.SyncByteStream):
        """The response body's stream, noting in sent["read_ns"] when each piece was read."""

        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def __iter__(self) -> Any:
            for data in self.stream:
                sent["read_ns"] = time.perf_counter_ns()
                yield data

        def close(self) -> None:
            self.stream.close()

    def on_response(response: httpx.Response) -> None:
        response.stream = ReadTimes(response.stream)

    hooks = {"request": [on_request], "response": [on_response]}
    http = httpx.Client(event_hooks=hooks, timeout=config.timeout)
    return openai.OpenAI(
        base_url=config.base_url.rstrip("/") + "/v1",
        # The SDK requires a key; servers started without --api-key ignore it.
        api_key=os.environ.get(API_KEY_ENV) or "not-needed",
        timeout=config.timeout,
        max_retries=0,
        http_client=http,
    )


def probe_once(
    client: Any,
    sent: dict[str, int],
    config: LatencyConfig,
    spec: RequestSpec,
    tokenizer: Tokenizer,
) -> Record:
    """One streamed request through the SDK; every outcome becomes a record.

    `sent["ns"]` is set by the client's httpx request hook when the request goes out,
    `sent["read_ns"]` by its response stream each time it reads a piece of the body."""
    import httpx
    import openai

    sent.pop("ns", None)
    sent.pop("read_ns", None)
    state = StreamState()
    status: int | None = None
    body = dict(spec.body)
    keys = ("model", "max_tokens", "temperature", "stream", "stream_options")
    kwargs = {k: body.pop(k) for k in keys}
    text_key = "messages" if config.api == "chat" else "prompt"
    kwargs[text_key] = body.pop(text_key)
    kwargs["extra_body"] = body  # what the SDK does not know, e.g. ignore_eos
    kwargs["extra_headers"] = {"X-Request-Id": spec.rid}
    start_ns = time.perf_counter_ns()
    deadline_ns = start_ns + int(config.timeout * 1e9)
    try:
        endpoint = client.chat.completions if config.api == "chat" else client.completions
        stream = endpoint.create(**kwargs)
        status = stream.response.status_code
        with stream:
            for chunk in stream:
                state.feed_object(sent.get("read_ns") or time.perf_counter_ns(), chunk.to_dict())
                if state.failed:
                    break
                if time.perf_counter_ns() > deadline_ns:
                    state.fail("timeout", f"no complete response within {config.timeout:g} s")
                    break
        state.feed_eof(time.perf_counter_ns())
    except openai.APITimeoutError:
        state.fail("timeout", f"no answer within {config.timeout:g} s")
    except openai.APIStatusError as exc:
        status = exc.status_code
        kind = "http_4xx" if exc.status_code < 500 else "http_5xx"
        state.fail(kind, f"HTTP {exc.status_code}: {str(exc.message)[:200]}")
    except openai.APIConnectionError as exc:  # before the response, or a stream cut mid-way
        if status is None:
            state.fail("connection", f"cannot connect: {exc.__cause__ or exc}")
        else:
            state.fail("stream_cut", f"the stream broke: {exc.__cause__ or exc}")
    except openai.APIError as exc:  # an error event inside the stream
        state.fail("server_error", f"the server sent an error: {str(exc.message)[:200]}")
    except (httpx.HTTPError, OSError) as exc:
        kind = "stream_cut" if status is not None else "connection"
        state.fail(kind, f"{type(exc).__name__}: {exc}")
    done_ns = time.perf_counter_ns()
    return to_record(
        spec,
        state,
        send_ns=sent.get("ns", start_ns),
        submit_ns=start_ns,
        done_ns=done_ns,
        status=status,
        scheduled_ns=None,
        tokenizer=tokenizer,
    )


def run_latency(config: LatencyConfig, records_path: str | Path) -> dict[str, Any]:
    """Run the probe; return the schema's `run` object (driver `bench.latency`)."""
    records_path = Path(records_path)
    tokenizer_path = resolve_tokenizer(config.tokenizer, config.model)
    tokenizer = load_tokenizer(tokenizer_path)
    model = config.model or discover_model(config.base_url)
    prompts = random_prompts(
        tokenizer,
        num_prompts=config.warmup + config.runs,
        input_len=config.input_tokens,
        output_len=config.output_tokens,
        range_ratio=1.0,
        seed=config.seed,
    )
    sent: dict[str, int] = {}
    client = _client(config, sent)
    started = utc_now()
    records: list[Record] = []
    with RecordWriter(records_path) as writer:
        for i, prompt in enumerate(prompts):
            warm = i < config.warmup
            spec = RequestSpec(
                index=i if warm else i - config.warmup,
                rid=request_id(),
                url=config.base_url,
                body=request_body(
                    config.api,
                    model,
                    prompt.text,
                    prompt.output_tokens,
                    ignore_eos=config.ignore_eos,
                ),
                warmup=warm,
                prompt_tokens_client=prompt.prompt_tokens if config.api == "completions" else None,
                requested_output_tokens=prompt.output_tokens,
            )
            record = probe_once(client, sent, config, spec, tokenizer)
            writer.write(record)
            records.append(record)
            if record.error_kind == "connection":
                raise BenchError(
                    f"cannot reach the server at {config.base_url} ({record.error}); "
                    f"{writer.count} finished requests are in {records_path}"
                )
    client.close()
    workload = workload_object(
        dataset="random",
        input_len=config.input_tokens,
        output_len=config.output_tokens,
        range_ratio=1.0,
        num_prompts=config.runs,
        max_concurrency=1,
        warmup_requests=config.warmup,
        seed=config.seed,
        api=config.api,
        ignore_eos=config.ignore_eos,
        stream=True,
        timeout_s=config.timeout,
        tokenizer=str(tokenizer_path),
        prompt_description=(
            f"random whole-word tokens, exactly {config.input_tokens} tokens of "
            f"{'message content' if config.api == 'chat' else 'prompt'}, a different prompt "
            "each run (no prefix-cache hits between runs); one request at a time, sent with "
            "the openai SDK"
        ),
    )
    return run_object(
        name=config.name or f"latency-{config.input_tokens}-{config.output_tokens}",
        started_utc=started,
        workload=workload,
        driver=DRIVER,
        records_path=records_path,
        records_sha256=writer.sha256,
        records_count=writer.count,
        metrics=run_metrics(records),
        notes=f"served model: {model}",
    )
