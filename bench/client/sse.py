"""One parser for every OpenAI-compatible stream shape. Pure: lines and times in, facts out.

Accepted: `data:` lines with or without the space, multi-line `data:` events, `: keep-alive`
comments and other SSE fields (ignored), a role-only first chunk, several tokens in one
chunk, `reasoning_content` (counted as content), no usage at all, usage on the last chunk
with a choice, usage in a final chunk with empty `choices`, usage on every chunk (vLLM's
continuous usage stats: then each chunk's token count is the usage delta), `[DONE]`
missing after a finish_reason or usage, and an error object inside the stream.
A stream that ends with neither `[DONE]` nor a finish_reason was cut.

Prefix-cache hits: `usage.prompt_tokens_details.cached_tokens` (OpenAI's field; SGLang
fills it with `--enable-cache-report` and leaves it out when nothing was cached), else
llama.cpp's `timings.cache_n` (the prompt tokens its slot reused), which its server sends
beside `usage`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


@dataclass
class StreamState:
    """What one response has shown so far. `feed_line` takes each raw line as it arrives."""

    chunk_ns: list[int] = field(default_factory=list)
    chunk_text: list[str] = field(default_factory=list)
    chunk_usage_tokens: list[int | None] = field(default_factory=list)
    response_id: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    saw_done: bool = False
    error_kind: str | None = None
    error: str | None = None
    _pending: list[str] = field(default_factory=list)
    _last_completion_tokens: int = 0
    _cached_in_usage: bool = False

    @property
    def failed(self) -> bool:
        return self.error_kind is not None

    def fail(self, kind: str, message: str) -> None:
        if self.error_kind is None:
            self.error_kind, self.error = kind, message

    def feed_line(self, t_ns: int, raw: bytes) -> None:
        if self.failed:
            return  # nothing after an error is trusted
        if raw.startswith(b"data: {") and not self._pending:  # the common case, fast
            try:
                obj = json.loads(raw[6:])
            except (ValueError, RecursionError):
                pass  # a multi-line event, or malformed: the general path decides
            else:
                self.feed_object(t_ns, obj)
                return
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if self._pending:
                data, self._pending = "\n".join(self._pending), []
                self._dispatch(t_ns, data, strict=True)
            return
        if line.startswith(":"):
            return  # an SSE comment, e.g. ": keep-alive"
        name, _, value = line.partition(":")
        if name != "data":
            return  # event:, id:, retry: carry nothing the kit needs
        value = value[1:] if value.startswith(" ") else value
        if self._pending:
            self._pending.append(value)
            return
        if not self._dispatch(t_ns, value, strict=False):
            self._pending.append(value)  # the first line of a multi-line event

    def feed_eof(self, t_ns: int) -> None:
        """The body ended. Decide whether the stream was complete."""
        if self._pending:
            data, self._pending = "\n".join(self._pending), []
            self._dispatch(t_ns, data, strict=True)
        if not self.failed and not (self.saw_done or self.finish_reason):
            self.fail("stream_cut", "the stream ended before a finish_reason or [DONE]")

    def feed_json_body(self, t_ns: int, body: bytes) -> None:
        """A non-streamed response (a server that ignored `stream`): one chunk."""
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            self.fail("malformed", "the response body is not JSON")
            return
        if isinstance(obj, dict) and isinstance(obj.get("choices"), list):
            for choice in obj["choices"]:
                if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                    choice.setdefault("delta", choice["message"])
        self.feed_object(t_ns, obj)
        if not self.failed:
            self.saw_done = True

    def _dispatch(self, t_ns: int, data: str, *, strict: bool) -> bool:
        if data.strip() == DONE:
            self.saw_done = True
            return True
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            if strict:
                self.fail("malformed", f"a stream event is not JSON: {data[:80]!r}")
            return False
        self.feed_object(t_ns, obj)
        return True

    def feed_object(self, t_ns: int, obj: Any) -> None:
        """One parsed chunk (`chat.completion.chunk` or `text_completion`)."""
        if not isinstance(obj, dict):
            self.fail("malformed", "a stream event is not a JSON object")
            return
        if "error" in obj or obj.get("object") == "error":
            err = obj.get("error", obj)
            message = err.get("message") if isinstance(err, dict) else err
            self.fail("server_error", f"the server sent an error: {str(message)[:200]}")
            return
        if self.response_id is None and isinstance(obj.get("id"), str):
            self.response_id = obj["id"]
        usage_tokens = self._take_usage(obj.get("usage"))
        self._take_cache_n(obj.get("timings"))
        text = ""
        choices = obj.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                text += _choice_text(choice)
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
        if text:
            self.chunk_ns.append(t_ns)
            self.chunk_text.append(text)
            self.chunk_usage_tokens.append(usage_tokens)

    def _take_usage(self, usage: Any) -> int | None:
        """Keep the latest counts; return this chunk's completion-token delta, if any."""
        if not isinstance(usage, dict):
            return None
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int):
            self.prompt_tokens = prompt
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        if _count(cached):
            self.cached_tokens = cached
            self._cached_in_usage = True
        if not isinstance(completion, int):
            return None
        self.completion_tokens = completion
        delta = completion - self._last_completion_tokens
        self._last_completion_tokens = completion
        return delta

    def _take_cache_n(self, timings: Any) -> None:
        """llama.cpp's `timings.cache_n`, when no usage detail gave the cached tokens."""
        cache_n = timings.get("cache_n") if isinstance(timings, dict) else None
        if _count(cache_n) and not self._cached_in_usage:
            self.cached_tokens = cache_n

    @property
    def text(self) -> str:
        return "".join(self.chunk_text)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _choice_text(choice: dict[str, Any]) -> str:
    delta = choice.get("delta")
    if isinstance(delta, dict):
        parts = (delta.get("reasoning_content"), delta.get("content"))
        return "".join(p for p in parts if isinstance(p, str))
    text = choice.get("text")  # the completions API
    return text if isinstance(text, str) else ""
