"""Request bodies ask for usage in the stream, and send ignore_eos only when asked."""

from __future__ import annotations

import pytest

from bench.client.api import endpoint_url, request_body
from bench.errors import UsageError


def test_a_chat_body_streams_and_asks_for_usage():
    body = request_body("chat", "m", "hi", 8, ignore_eos=True)
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["ignore_eos"] is True and body["max_tokens"] == 8


def test_a_completions_body_without_ignore_eos():
    body = request_body("completions", "m", "hi", 8, ignore_eos=False)
    assert body["prompt"] == "hi" and "ignore_eos" not in body and "messages" not in body


def test_endpoints():
    assert endpoint_url("http://h:1/", "chat") == "http://h:1/v1/chat/completions"
    assert endpoint_url("http://h:1", "completions") == "http://h:1/v1/completions"
    with pytest.raises(UsageError, match="--api"):
        endpoint_url("http://h:1", "generate")
