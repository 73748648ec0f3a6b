"""A buffering HTTP proxy, as a gateway in front of an engine can be: it holds each reply
until the upstream server has finished it, then writes it to the client in one piece.

    with BufferingProxy("http://127.0.0.1:8080") as proxy:
        proxy.base_url   # send requests here

Every method and path is forwarded with its body and headers (hop-by-hop headers dropped).
The reply keeps the upstream's status and headers (a stream stays `text/event-stream`),
but its body, however the upstream streamed it, goes out in one write with a
Content-Length. `replies` counts the replies it held. It runs aiohttp on its own event loop
in a background thread, listening on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading

import aiohttp
from aiohttp import web

# Headers that describe one connection, not the message (RFC 9110 7.6.1), or that the
# buffered body changes.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "content-length", "host",
}  # fmt: skip
TIMEOUT_S = 120


class BufferingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.base_url = ""
        self.replies = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as upstream:
            body = await upstream.read()  # the whole reply, however it was streamed
            status = upstream.status
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        self.replies += 1
        return web.Response(body=body, status=status, headers=out)

    async def _start(self) -> int:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        # llama.cpp's server closes a connection after each stream: no kept-alive upstream
        self._session = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(force_close=True)
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return self._runner.addresses[0][1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def __enter__(self) -> BufferingProxy:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
