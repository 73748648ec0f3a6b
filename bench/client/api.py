"""Request bodies for the OpenAI-compatible APIs the kit speaks (`chat`, `completions`)."""

from __future__ import annotations

import os
import urllib.request
import uuid
from typing import Any

from bench.errors import UsageError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}


def request_id() -> str:
    """A fresh X-Request-Id. A UUID, because some servers reject anything else (those built
    on starlette-context, such as llama-cpp-python's, answer 400 with an empty body)."""
    return str(uuid.uuid4())


API_KEY_ENV = "OPENAI_API_KEY"


def auth_headers() -> dict[str, str]:
    """`Authorization: Bearer KEY` when OPENAI_API_KEY is set, as SGLang's `--api-key`, vLLM's
    and the OpenAI SDK expect (sglang.bench_serving reads the same variable). The key comes
    from the environment only, so it never lands in a command line or a result document."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def server_get(url: str) -> urllib.request.Request:
    """A GET request to the server (self-report, model list) carrying the API key, if any."""
    return urllib.request.Request(url, headers=auth_headers())


def endpoint_url(base_url: str, api: str) -> str:
    if api not in ENDPOINTS:
        raise UsageError(f"--api must be one of {', '.join(ENDPOINTS)}, got {api!r}")
    return base_url.rstrip("/") + ENDPOINTS[api]


def request_body(
    api: str,
    model: str,
    prompt: str,
    max_tokens: int,
    *,
    ignore_eos: bool,
    stream: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A streaming request that asks for usage (`stream_options.include_usage`).

    `ignore_eos` is an SGLang/vLLM extension (forces exactly max_tokens); it is only sent
    when asked for, because OpenAI's own API rejects unknown parameters.
    """
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": 0.0}
    if api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if ignore_eos:
        body["ignore_eos"] = True
    body.update(extra or {})
    return body
