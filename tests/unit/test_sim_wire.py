"""The simulator's chunks are byte-for-byte what SGLang 0.5.3's own pydantic models emit.

Each chunk is parsed back with SGLang's protocol classes (installed with `--no-deps` for
`sglang.bench_serving`) and re-serialised the way SGLang serialises it; the two JSON
objects must be equal, key for key.
"""

from __future__ import annotations

import json

from sglang.srt.entrypoints.openai import protocol as sg

from bench.sim.wire import DONE, Encoder, error_body


def _enc(endpoint: str) -> Encoder:
    return Encoder(endpoint, "0123abcd", "Qwen/Qwen2-7B-Instruct", 1_700_000_000, 7)


def _payload(chunk: bytes) -> dict:
    assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
    return json.loads(chunk[6:])


def _same_as_sglang(chunk: bytes, model, **dump) -> None:
    ours = _payload(chunk)
    theirs = json.loads(model.model_validate(ours).model_dump_json(**dump))
    assert ours == theirs


def test_chat_chunks_match_sglang():
    enc = _enc("chat")
    _same_as_sglang(enc.role_chunk(), sg.ChatCompletionStreamResponse)
    _same_as_sglang(enc.content_chunk(" model", "", 1, None), sg.ChatCompletionStreamResponse)
    _same_as_sglang(enc.finish_chunk("length"), sg.ChatCompletionStreamResponse)
    _same_as_sglang(enc.usage_chunk(3), sg.ChatCompletionStreamResponse)
    assert _payload(enc.role_chunk())["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
        "reasoning_content": None,
        "tool_calls": None,
    }
    assert _payload(enc.usage_chunk(3))["usage"]["total_tokens"] == 10


def test_completion_chunks_match_sglang():
    enc = _enc("completions")
    _same_as_sglang(enc.content_chunk(" a", "", 1, None), sg.CompletionStreamResponse)
    _same_as_sglang(enc.content_chunk(" b", "", 2, "length"), sg.CompletionStreamResponse)
    # SGLang dumps the completions usage chunk with exclude_none=True
    _same_as_sglang(enc.usage_chunk(2), sg.CompletionStreamResponse, exclude_none=True)


def test_non_streaming_bodies_match_sglang():
    chat = _enc("chat").full_response(" a b", 2, "length")
    assert chat == json.loads(sg.ChatCompletionResponse.model_validate(chat).model_dump_json())
    comp = _enc("completions").full_response(" a b", 2, "length")
    assert comp == json.loads(sg.CompletionResponse.model_validate(comp).model_dump_json())


def test_error_body_matches_sglang():
    body = error_body("bad", 400)
    assert body == sg.ErrorResponse(message="bad", type="BadRequestError", code=400).model_dump()


def test_generate_chunk_and_done():
    body = _enc("generate").generate_body(" a b", 2, "length")
    assert body["meta_info"]["finish_reason"] == {"type": "length", "length": 2}
    assert body["meta_info"]["completion_tokens"] == 2 and body["text"] == " a b"
    assert DONE == b"data: [DONE]\n\n"


def test_text_is_json_escaped():
    chunk = _enc("chat").content_chunk('say "hi"\n', "", 1, None)
    assert _payload(chunk)["choices"][0]["delta"]["content"] == 'say "hi"\n'
