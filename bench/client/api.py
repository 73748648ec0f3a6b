"""Request bodies for the OpenAI-compatible APIs the kit speaks (`chat`, `completions`)."""

from __future__ import annotations

import uuid
from typing import Any

from bench.errors import UsageError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}


def request_id() -> str:
    """A fresh X-Request-Id. A UUID, because some servers reject anything else (those built
    on starlette-context, such as llama-cpp-python's, answer 400 with an empty body)."""
    return str(uuid.uuid4())


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
