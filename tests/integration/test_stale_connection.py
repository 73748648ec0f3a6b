"""A kept-alive connection that the server has closed: the request goes again, once more.

llama.cpp's server says `Keep-Alive` but closes the connection after each stream, so a
load generator that reuses connections sometimes writes a request into a connection the
server is closing, and no answer comes (tests/integration/test_real_engine.py meets it
for real). The server here does that every time: it answers the first request of each
connection and closes the connection on reading the second. A request that met such a
connection is sent again on another one; a request on a new connection is never resent.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from bench.client.stream import RequestSpec, send_request, write_tracing

STREAM = (
    b'data: {"id":"x","choices":[{"index":0,"delta":{"content":" hello"}}]}\n\n'
    b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"length"}],'
    b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n'
    b"data: [DONE]\n\n"
)


async def read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return True


async def one_answer_per_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: list[int]
) -> None:
    await read_request(reader)
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Keep-Alive: timeout=5, max=100\r\n"
        b"Content-Length: " + str(len(STREAM)).encode() + b"\r\n\r\n" + STREAM
    )
    await writer.drain()
    answered.append(1)
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        await read_request(reader)  # the second request on this connection: no answer
    writer.close()


async def send_five(close_after_answer: bool) -> tuple[list[str | None], int]:
    answered: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if close_after_answer:
            await one_answer_per_connection(reader, writer, answered)
        else:  # accepts the request and closes at once: never answers anything
            await read_request(reader)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    kinds = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[write_tracing()]) as s:
        for i in range(5):
            spec = RequestSpec(i, f"rid-{i}", f"http://127.0.0.1:{port}/v1/completions", {})
            record = await send_request(s, spec, timeout_s=10, tokenizer=None)
            kinds.append(record.error_kind)
            await asyncio.sleep(0)  # the request after lands on the kept-alive connection
    server.close()
    await server.wait_closed()
    return kinds, len(answered)


def test_a_request_that_met_a_closed_kept_alive_connection_is_sent_again():
    kinds, answered = asyncio.run(send_five(close_after_answer=True))
    assert kinds == [None] * 5
    assert answered == 5  # each on its own connection, none answered twice


def test_a_request_on_a_new_connection_that_is_closed_unanswered_fails():
    kinds, _ = asyncio.run(send_five(close_after_answer=False))
    assert kinds == ["connection"] * 5
