"""Request bodies for the OpenAI-compatible APIs the kit speaks (`chat`, `completions`)."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

from bench.errors import InputError, UsageError

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


SERVER_INFO_PATHS = ("/get_server_info", "/server_info")  # the second: older SGLang
MAX_SERVER_INFO_BYTES = 10 * 1024 * 1024


def get_server_info(
    base_url: str, timeout_s: float, paths: tuple[str, ...] = SERVER_INFO_PATHS
) -> dict[str, Any]:
    """The server's self-report: the first of `paths` that answers, as a JSON object.

    An HTTP error moves on to the next path; anything else (unreachable, too large, not a
    JSON object) is an InputError naming the URL, as is no path answering at all."""
    last = ""
    for path in paths:
        url = base_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(server_get(url), timeout=timeout_s) as resp:
                body = resp.read(MAX_SERVER_INFO_BYTES + 1)
        except urllib.error.HTTPError as exc:
            last = f"{url}: HTTP {exc.code}"
            continue
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(f"cannot reach {url}: {reason}") from None
        if len(body) > MAX_SERVER_INFO_BYTES:
            raise InputError(f"{url}: response larger than 10 MiB")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{url}: response is not JSON") from None
        if not isinstance(data, dict):
            raise InputError(f"{url}: response is not a JSON object")
        return data
    raise InputError(f"no server info at {base_url} ({last})")


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
