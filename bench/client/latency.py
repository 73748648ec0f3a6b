"""The article's latency probe, done right, with the standard `openai` SDK (`bench latency`).

One request at a time: `warmup` unmeasured runs, then `runs` measured ones. Each run
sends a prompt of exactly `input_len` tokens (built with the tokenizer; a different
prompt each run, so the server's prefix cache cannot answer from an earlier run), asks
for `output_len` tokens with `ignore_eos` (an SGLang/vLLM extension, sent in `extra_body`)
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
from pathlib import Path
from typing import Any

from bench.client.api import API_KEY_ENV, request_body, request_id
from bench.client.runinfo import run_object, workload_object
from bench.client.sse import StreamState
from bench.client.stream import RequestSpec, to_record
from bench.client.target import Target
from bench.client.window import WindowHooks
from bench.errors import BenchError, UsageError
from bench.metrics import run_metrics
from bench.records import Record, RecordWriter
from bench.utc import utc_now
from bench.workload.dataset import Tokenizer, load_tokenizer, random_prompts
from bench.workload.spec import LatencyWorkload

DRIVER = "bench.latency"


def _client(base_url: str, timeout_s: float, sent: dict[str, int]) -> Any:
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
    http = httpx.Client(event_hooks=hooks, timeout=timeout_s)
    return openai.OpenAI(
        base_url=base_url.rstrip("/") + "/v1",
        # The SDK requires a key; servers started without --api-key ignore it.
        api_key=os.environ.get(API_KEY_ENV) or "not-needed",
        timeout=timeout_s,
        max_retries=0,
        http_client=http,
    )


def probe_once(
    client: Any,
    sent: dict[str, int],
    workload: LatencyWorkload,
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
    text_key = "messages" if workload.api == "chat" else "prompt"
    kwargs[text_key] = body.pop(text_key)
    kwargs["extra_body"] = body  # what the SDK does not know, e.g. ignore_eos
    kwargs["extra_headers"] = {"X-Request-Id": spec.rid}
    start_ns = time.perf_counter_ns()
    deadline_ns = start_ns + int(workload.timeout_s * 1e9)
    try:
        endpoint = client.chat.completions if workload.api == "chat" else client.completions
        stream = endpoint.create(**kwargs)
        status = stream.response.status_code
        with stream:
            for chunk in stream:
                state.feed_object(sent.get("read_ns") or time.perf_counter_ns(), chunk.to_dict())
                if state.failed:
                    break
                if time.perf_counter_ns() > deadline_ns:
                    state.fail("timeout", f"no complete response within {workload.timeout_s:g} s")
                    break
        state.feed_eof(time.perf_counter_ns())
    except openai.APITimeoutError:
        state.fail("timeout", f"no answer within {workload.timeout_s:g} s")
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


def run_latency(
    workload: LatencyWorkload,
    target: Target,
    records_path: str | Path,
    *,
    name: str | None = None,
    window: WindowHooks | None = None,
) -> dict[str, Any]:
    """Run the probe; return the schema's `run` object (driver `bench.latency`). `window` is
    told when the measured window opens and closes (`bench.client.window`)."""
    if target.tokenizer is None:
        raise UsageError("the latency probe needs a tokenizer (--tokenizer DIR)")
    records_path = Path(records_path)
    tokenizer = load_tokenizer(target.tokenizer)
    prompts = random_prompts(
        tokenizer,
        num_prompts=workload.warmup + workload.runs,
        input_len=workload.input_len,
        output_len=workload.output_len,
        range_ratio=1.0,
        seed=workload.seed,
    )
    sent: dict[str, int] = {}
    client = _client(target.base_url, workload.timeout_s, sent)
    started = utc_now()
    records: list[Record] = []
    with RecordWriter(records_path) as writer:
        for i, prompt in enumerate(prompts):
            warm = i < workload.warmup
            if i == workload.warmup and window is not None:
                window.window_started()
            spec = RequestSpec(
                index=i if warm else i - workload.warmup,
                rid=request_id(),
                url=target.base_url,
                body=request_body(
                    workload.api,
                    target.model,
                    prompt.text,
                    prompt.output_tokens,
                    ignore_eos=workload.ignore_eos,
                ),
                warmup=warm,
                prompt_tokens_client=prompt.prompt_tokens
                if workload.api == "completions"
                else None,
                requested_output_tokens=prompt.output_tokens,
            )
            record = probe_once(client, sent, workload, spec, tokenizer)
            writer.write(record)
            records.append(record)
            if record.error_kind == "connection":
                raise BenchError(
                    f"cannot reach the server at {target.base_url} ({record.error}); "
                    f"{writer.count} finished requests are in {records_path}"
                )
    if window is not None and workload.runs:
        window.window_ended()
    client.close()
    text = "message content" if workload.api == "chat" else "prompt"
    document_workload = workload_object(
        dataset="random",
        input_len=workload.input_len,
        output_len=workload.output_len,
        range_ratio=1.0,
        num_prompts=workload.runs,
        max_concurrency=1,
        warmup_requests=workload.warmup,
        seed=workload.seed,
        api=workload.api,
        ignore_eos=workload.ignore_eos,
        stream=True,
        timeout_s=workload.timeout_s,
        tokenizer=str(target.tokenizer),
        prompt_description=(
            f"random whole-word tokens, exactly {workload.input_len} tokens of {text}, a "
            "different prompt each run (no prefix-cache hits between runs); one request at a "
            "time, sent with the openai SDK"
        ),
    )
    return run_object(
        name=name or f"latency-{workload.input_len}-{workload.output_len}",
        started_utc=started,
        workload=document_workload,
        driver=DRIVER,
        records_path=records_path,
        records_sha256=writer.sha256,
        records_count=writer.count,
        metrics=run_metrics(records),
        notes=f"served model: {target.model}",
    )
