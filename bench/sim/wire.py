"""The bytes SGLang 0.5.3 puts on the wire, pre-encoded per request for a cheap hot path.

Shapes follow `sglang/srt/entrypoints/openai/protocol.py` and `serving_chat.py` /
`serving_completions.py` (pydantic `model_dump_json`: compact separators, every field
present), and `http_server.py` for the native `/generate`:

- chat: a role-only first chunk (sent with the first token, as SGLang does), one chunk per
  content delta, a finish chunk with an empty delta, then a usage chunk with empty
  `choices` only when `stream_options.include_usage` is set, then `data: [DONE]`.
- completions: the finish reason rides on the last content chunk; usage chunk as above.
- generate: every chunk carries the cumulative `text` and `meta_info`.

Prefix-cache hits are reported as SGLang launched with `--enable-cache-report` reports them
(entrypoints/openai/usage_processor.py): `usage.prompt_tokens_details` is
`{"cached_tokens": N}` when N > 0 and null otherwise; `meta_info.cached_tokens` is always N.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

DONE = b"data: [DONE]\n\n"
_NULLS = b'"reasoning_content":null,"tool_calls":null'


def _j(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens} if cached_tokens else None,
        "reasoning_tokens": 0,
    }


@dataclass(frozen=True)
class Encoder:
    """Chunk bytes of one request: the fixed prefix and suffix are built once."""

    endpoint: str  # "chat", "completions" or "generate"
    rid: str
    model: str
    created: int
    prompt_tokens: int

    @classmethod
    def for_request(cls, endpoint: str, rid: str, model: str, prompt_tokens: int) -> Encoder:
        return cls(endpoint, rid, model, int(time.time()), prompt_tokens)

    def _head(self, obj: str) -> bytes:
        """`data: {"id":...,"choices":[` for this request; built once per object type."""
        cache = self.__dict__.setdefault("_heads", {})  # frozen, but a private cache is fine
        head = cache.get(obj)
        if head is None:
            head = (
                b'data: {"id":'
                + _j(self.rid)
                + b',"object":"'
                + obj.encode()
                + b'","created":'
                + str(self.created).encode()
                + b',"model":'
                + _j(self.model)
                + b',"choices":['
            )
            cache[obj] = head
        return head

    def role_chunk(self) -> bytes:
        return (
            self._head("chat.completion.chunk")
            + b'{"index":0,"delta":{"role":"assistant","content":"",'
            + _NULLS
            + b'},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}\n\n'
        )

    def content_chunk(
        self,
        text: str,
        cumulative: str,
        completion_tokens: int,
        finish: str | None,
        cached_tokens: int = 0,
    ) -> bytes:
        """One chunk carrying `text` (the new tokens); `finish` only for completions/generate."""
        if self.endpoint == "chat":
            return (
                self._head("chat.completion.chunk")
                + b'{"index":0,"delta":{"role":null,"content":'
                + _j(text)
                + b","
                + _NULLS
                + b'},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}\n\n'
            )
        if self.endpoint == "completions":
            return (
                self._head("text_completion")
                + b'{"index":0,"text":'
                + _j(text)
                + b',"logprobs":null,"finish_reason":'
                + _j(finish)
                + b',"matched_stop":null}],"usage":null}\n\n'
            )
        body = self.generate_body(cumulative, completion_tokens, finish, cached_tokens)
        return b"data: " + _j(body) + b"\n\n"

    def finish_chunk(self, finish: str) -> bytes:
        """Chat only: the empty-delta chunk that carries the finish reason."""
        return (
            self._head("chat.completion.chunk")
            + b'{"index":0,"delta":{"role":null,"content":null,'
            + _NULLS
            + b'},"logprobs":null,"finish_reason":'
            + _j(finish)
            + b',"matched_stop":null}],"usage":null}\n\n'
        )

    def usage_chunk(self, completion_tokens: int, cached_tokens: int = 0) -> bytes:
        """The final usage chunk (empty `choices`); SGLang drops the null fields of the
        completions one (`model_dump_json(exclude_none=True)`) but not of the chat one."""
        counts = usage(self.prompt_tokens, completion_tokens, cached_tokens)
        if self.endpoint == "chat":
            return self._head("chat.completion.chunk") + b'],"usage":' + _j(counts) + b"}\n\n"
        counts = {k: v for k, v in counts.items() if v is not None}
        return self._head("text_completion") + b'],"usage":' + _j(counts) + b"}\n\n"

    def generate_body(
        self, text: str, completion_tokens: int, finish: str | None, cached_tokens: int = 0
    ) -> dict:
        reason = None
        if finish == "length":
            reason = {"type": "length", "length": completion_tokens}
        elif finish == "stop":
            reason = {"type": "stop", "matched": None}
        elif finish == "abort":
            reason = {"type": "abort", "message": "aborted"}
        return {
            "text": text,
            "meta_info": {
                "id": self.rid,
                "finish_reason": reason,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": completion_tokens,
                "cached_tokens": cached_tokens,
            },
        }

    def full_response(
        self, text: str, completion_tokens: int, finish: str, cached_tokens: int = 0
    ) -> dict:
        """The non-streaming body."""
        if self.endpoint == "generate":
            return self.generate_body(text, completion_tokens, finish, cached_tokens)
        if self.endpoint == "chat":
            choice = {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "reasoning_content": None,
                    "tool_calls": None,
                },
                "logprobs": None,
                "finish_reason": finish,
                "matched_stop": None,
            }
            obj = "chat.completion"
        else:
            choice = {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": finish,
                "matched_stop": None,
            }
            obj = "text_completion"
        return {
            "id": self.rid,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": usage(self.prompt_tokens, completion_tokens, cached_tokens),
            "metadata": {"weight_version": "default"},
        }


def error_body(message: str, status: int, err_type: str = "BadRequestError") -> dict:
    """SGLang's `ErrorResponse` (serving_base.create_error_response)."""
    return {"object": "error", "message": message, "type": err_type, "param": None, "code": status}
