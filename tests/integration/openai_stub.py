"""A tiny OpenAI-compatible streaming server whose wire format is chosen per test.

Each `shape` mimics one real server's behaviour (SGLang, vLLM, OpenAI, or a broken one),
so the kit's client can be tested against every shape item 6 of issue 4 names. Replies
are whole-word tokens of the shipped tokenizer, so the token count of every reply is
known exactly. The server runs in a background thread on a free 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench.sim import tokenizer_dir
from bench.workload.dataset import load_tokenizer, word_token_ids

SHAPES = (
    "sglang",  # role-only first chunk, one token per chunk, usage chunk with empty choices
    "openai_no_usage_asked",  # like sglang, but usage only if include_usage (the kit asks)
    "no_usage",  # never sends usage
    "usage_on_last_choice",  # usage on the last chunk, which still has a choice
    "continuous_usage",  # vLLM continuous_usage_stats: usage on every chunk
    "no_done",  # finish_reason and usage, then the body ends without [DONE]
    "keepalive",  # ": keep-alive" comments between events, `data:` without a space
    "multi_token",  # three tokens per chunk
    "reasoning",  # reasoning_content chunks before content chunks
    "json_body",  # ignores stream=true and answers with one JSON body
    "http_429",
    "http_500",
    "cut",  # the connection drops after a few chunks
    "never",  # accepts the request and never answers
    "stall",  # sends two chunks, then nothing
    "malformed",  # a chunk that is not JSON
    "error_event",  # an error object inside the stream
)


@dataclass
class Stub:
    shape: str
    itl_s: float = 0.002
    usage_prompt_tokens: int | None = 11  # what usage.prompt_tokens says; None: the real count
    words: list[str] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)  # request bodies + headers
    sent_tokens: dict[str, int] = field(default_factory=dict)  # response id -> tokens
    models_authorization: list[str | None] = field(default_factory=list)  # GET /v1/models
    base_url: str = ""


TOKENIZER = load_tokenizer(tokenizer_dir())
CHAT_TEMPLATE_TOKENS = 20  # what this stub pretends its chat template adds


def _words() -> list[str]:
    return [TOKENIZER.decode([i]) for i in word_token_ids(TOKENIZER)]


def _prompt_tokens(body: dict[str, Any], chat: bool) -> int:
    if chat:
        return TOKENIZER.count(body["messages"][0]["content"]) + CHAT_TEMPLATE_TOKENS
    return TOKENIZER.count(body["prompt"])


async def _handle(request: web.Request, stub: Stub) -> web.StreamResponse:
    try:
        return await _stream(request, stub)
    except ConnectionResetError:  # the client went away
        return web.Response(status=499)


async def _stream(request: web.Request, stub: Stub) -> web.StreamResponse:
    body = await request.json()
    chat = request.path.endswith("chat/completions")
    stub.seen.append(
        {
            "body": body,
            "rid": request.headers.get("X-Request-Id"),
            "authorization": request.headers.get("Authorization"),
        }
    )
    n = int(body.get("max_tokens", 16))
    rid = f"resp-{len(stub.seen)}"
    stub.sent_tokens[rid] = n
    words = [stub.words[(len(stub.seen) * 7 + i) % len(stub.words)] for i in range(n)]
    n_in = stub.usage_prompt_tokens
    if n_in is None:
        n_in = _prompt_tokens(body, chat)
    usage = {"prompt_tokens": n_in, "completion_tokens": n, "total_tokens": n_in + n}
    shape = stub.shape

    if shape in ("http_429", "http_500"):
        status = 429 if shape == "http_429" else 500
        return web.json_response({"error": {"message": f"stub says {status}"}}, status=status)
    if shape == "never":
        await asyncio.sleep(3600)
    if shape == "json_body":
        await asyncio.sleep(stub.itl_s * n)
        message = {"role": "assistant", "content": "".join(words)}
        choice = {"index": 0, "message": message, "finish_reason": "length"}
        if not chat:
            choice = {"index": 0, "text": "".join(words), "finish_reason": "length"}
        return web.json_response({"id": rid, "choices": [choice], "usage": usage})

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    sep = "data:" if shape == "keepalive" else "data: "

    async def send(obj: Any) -> None:
        text = obj if isinstance(obj, str) else json.dumps(obj)
        await response.write(f"{sep}{text}\n\n".encode())
        if shape == "keepalive":
            await response.write(b": keep-alive\n\n")

    def chunk(text: str | None, *, finish: str | None = None, key: str = "content") -> dict:
        if chat:
            delta = {key: text} if text is not None else {"role": "assistant"}
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text or "", "finish_reason": finish}
        return {"id": rid, "object": "chunk", "created": 0, "model": "stub", "choices": [choice]}

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if chat:
        await send(chunk(None))  # role only
    per_chunk = 3 if shape == "multi_token" else 1
    groups = [words[i : i + per_chunk] for i in range(0, n, per_chunk)]
    for g, group in enumerate(groups):
        await asyncio.sleep(stub.itl_s)
        last = g == len(groups) - 1
        if shape == "cut" and g == 3:
            request.transport.close()
            return response
        if shape == "stall" and g == 2:
            await asyncio.sleep(3600)
        if shape == "malformed" and g == 2:
            await response.write(b"data: {not json\n\n")
            continue
        if shape == "error_event" and g == 2:
            await send({"error": {"message": "out of memory", "code": 500}})
            continue
        key = "reasoning_content" if shape == "reasoning" and g < 2 else "content"
        obj = chunk("".join(group), finish="length" if last else None, key=key)
        if shape == "continuous_usage":
            done = sum(len(x) for x in groups[: g + 1])
            obj["usage"] = {"prompt_tokens": n_in, "completion_tokens": done}
        if shape == "usage_on_last_choice" and last:
            obj["usage"] = usage
        await send(obj)
    if include_usage and shape not in ("no_usage", "usage_on_last_choice", "continuous_usage"):
        await send({"id": rid, "choices": [], "usage": usage})
    if shape != "no_done":
        await send("[DONE]")
    return response


class StubServer:
    """`with StubServer("sglang") as stub: stub.base_url ...`"""

    def __init__(
        self, shape: str, itl_s: float = 0.002, usage_prompt_tokens: int | None = 11
    ) -> None:
        assert shape in SHAPES, shape
        self.stub = Stub(
            shape=shape, itl_s=itl_s, usage_prompt_tokens=usage_prompt_tokens, words=_words()
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> Stub:
        app = web.Application()

        async def handler(request: web.Request) -> web.StreamResponse:
            return await _handle(request, self.stub)

        async def models(request: web.Request) -> web.Response:
            self.stub.models_authorization.append(request.headers.get("Authorization"))
            return web.json_response({"data": [{"id": "stub-model"}]})

        app.router.add_post("/v1/chat/completions", handler)
        app.router.add_post("/v1/completions", handler)
        app.router.add_get("/v1/models", models)
        self._thread.start()

        async def start() -> int:
            self._runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        port = asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=10)
        self.stub.base_url = f"http://127.0.0.1:{port}"
        return self.stub

    def stop(self) -> None:
        """Stop listening (a dead server); open connections are dropped."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        time.sleep(0)
