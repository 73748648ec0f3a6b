"""Send one streaming request with aiohttp and turn what happened into a `Record`.

Every outcome becomes a record, never an exception: HTTP 4xx/5xx (`http_4xx`, `http_5xx`),
no connection (`connection`), a stream cut mid-way (`stream_cut`), a chunk that is not
JSON (`malformed`), an error object in the stream (`server_error`), no end within the
per-request timeout (`timeout`). Only cancellation (Ctrl-C) propagates.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.client.api import auth_headers
from bench.client.counting import TokenCounter, chunk_token_counts
from bench.client.sse import StreamState
from bench.records import Record

ERROR_BODY_BYTES = 2048
# tries of one request that meets a kept-alive connection the server already closed
STALE_TRIES = 3


@dataclass(frozen=True)
class RequestSpec:
    """Everything needed to send one request and label its record."""

    index: int
    rid: str
    url: str
    body: dict[str, Any]
    warmup: bool = False
    payload: bytes | None = None  # `body` as JSON, encoded ahead of the run
    prompt_tokens_client: int | None = None
    requested_output_tokens: int | None = None
    group: int | None = None  # shared-prefix group, or conversation
    turn: int | None = None  # turn within the conversation


def split_lines(rest: bytes, data: bytes) -> tuple[list[bytes], bytes]:
    """Pure: the complete lines in `rest + data`, and the incomplete tail to keep."""
    *lines, tail = (rest + data).split(b"\n")
    return lines, tail


async def _read_stream(
    response: aiohttp.ClientResponse, state: StreamState, clock: Any = time.perf_counter_ns
) -> None:
    if response.status >= 400:
        body = await response.content.read(ERROR_BODY_BYTES)
        text = " ".join(body.decode("utf-8", errors="replace").split())[:200]
        kind = "http_4xx" if response.status < 500 else "http_5xx"
        state.fail(kind, f"HTTP {response.status}: {text}")
        return
    if response.content_type == "application/json":
        state.feed_json_body(clock(), await response.read())
        return
    # Read whatever has arrived, then split it into lines: every line of one read gets the
    # same arrival time, which is when it was read.
    rest = b""
    async for data in response.content.iter_any():
        t_ns = clock()
        lines, rest = split_lines(rest, data)
        for line in lines:
            state.feed_line(t_ns, line)
        if state.failed:
            return
    if rest:
        state.feed_line(clock(), rest)
    state.feed_eof(clock())


def write_tracing() -> aiohttp.TraceConfig:
    """Stamps `sent_ns` in a request's trace context each time a piece of it is written, and
    `reused` when it goes out on a kept-alive connection."""

    async def stamp(_session: object, context: Any, _params: object) -> None:
        if isinstance(context.trace_request_ctx, dict):
            context.trace_request_ctx["sent_ns"] = time.perf_counter_ns()

    async def reused(_session: object, context: Any, _params: object) -> None:
        if isinstance(context.trace_request_ctx, dict):
            context.trace_request_ctx["reused"] = 1

    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(stamp)
    config.on_request_chunk_sent.append(stamp)
    config.on_connection_reuseconn.append(reused)
    return config


async def send_request(
    session: aiohttp.ClientSession,
    spec: RequestSpec,
    *,
    timeout_s: float,
    tokenizer: TokenCounter | None,
    scheduled_ns: int | None = None,
) -> Record:
    """Send `spec`, read the whole stream, and return its record. `submit_ns` is taken just
    before the request is handed to aiohttp, `send_ns` when aiohttp wrote its last byte."""
    record, _text = await exchange(
        session, spec, timeout_s=timeout_s, tokenizer=tokenizer, scheduled_ns=scheduled_ns
    )
    return record


async def exchange(
    session: aiohttp.ClientSession,
    spec: RequestSpec,
    *,
    timeout_s: float,
    tokenizer: TokenCounter | None,
    scheduled_ns: int | None = None,
) -> tuple[Record, str]:
    """`send_request`, and the reply's text (a conversation puts it into its history)."""
    state = StreamState()
    status: int | None = None
    headers = {"X-Request-Id": spec.rid, "Content-Type": "application/json", **auth_headers()}
    data = spec.payload if spec.payload is not None else json.dumps(spec.body).encode()
    trace: dict[str, int] = {}
    submit_ns = time.perf_counter_ns()
    try:
        async with asyncio.timeout(timeout_s):
            for attempt in range(1, STALE_TRIES + 1):
                trace = {}
                try:
                    async with session.post(
                        spec.url, data=data, headers=headers, trace_request_ctx=trace
                    ) as response:
                        status = response.status
                        await _read_stream(response, state)
                    break
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                    # A kept-alive connection the server had already closed (llama.cpp's
                    # server closes after each stream though it says Keep-Alive): no status
                    # line came back, so the request was never answered. Send it again on
                    # another connection (RFC 9112 9.3.1.1: the kit's requests change nothing).
                    if status is not None or "reused" not in trace or attempt == STALE_TRIES:
                        raise
    except TimeoutError:
        state.fail("timeout", f"no complete response within {timeout_s:g} s")
    except aiohttp.ClientConnectorError as exc:
        state.fail("connection", f"cannot connect: {exc.os_error or exc}")
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
        kind = "stream_cut" if status is not None else "connection"
        state.fail(kind, f"the server closed the connection: {type(exc).__name__}")
    except (aiohttp.ClientError, OSError) as exc:
        kind = "stream_cut" if state.chunk_ns else "connection"
        state.fail(kind, f"{type(exc).__name__}: {exc}")
    done_ns = time.perf_counter_ns()
    record = to_record(
        spec, state, send_ns=trace.get("sent_ns", submit_ns), done_ns=done_ns, status=status,
        scheduled_ns=scheduled_ns, tokenizer=tokenizer, submit_ns=submit_ns,
    )  # fmt: skip
    return record, state.text


def to_record(
    spec: RequestSpec,
    state: StreamState,
    *,
    send_ns: int,
    done_ns: int,
    status: int | None,
    scheduled_ns: int | None,
    tokenizer: TokenCounter | None,
    submit_ns: int | None = None,
) -> Record:
    """Pure: the facts of one finished request."""
    counts = chunk_token_counts(state.chunk_text, state.chunk_usage_tokens, tokenizer)
    return Record(
        index=spec.index,
        rid=spec.rid,
        warmup=spec.warmup,
        send_ns=send_ns,
        done_ns=done_ns,
        scheduled_ns=scheduled_ns,
        submit_ns=submit_ns,
        chunk_ns=tuple(state.chunk_ns),
        chunk_tokens=counts.tokens,
        chunk_tokens_source=counts.source,
        response_id=state.response_id,
        http_status=status,
        finish_reason=state.finish_reason,
        prompt_tokens_server=state.prompt_tokens,
        completion_tokens_server=state.completion_tokens,
        prompt_tokens_client=spec.prompt_tokens_client,
        completion_tokens_client=counts.client_total,
        requested_output_tokens=spec.requested_output_tokens,
        error_kind=state.error_kind,
        error=state.error,
        cached_tokens_server=state.cached_tokens,
        group=spec.group,
        turn=spec.turn,
    )
