"""Request bodies in, one validated `GenSpec` out (or an `ApiError` with its HTTP status).

Defaults are SGLang 0.5.3's: `max_tokens` 16 for completions (the OpenAI protocol's),
128 for chat and `/generate` (SGLang's `SamplingParams.max_new_tokens`), temperature 1.0.
With temperature 0 (greedy) the same prompt always gets the same text, as a real model's
greedy decoding does; otherwise the text depends on the request's arrival number.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from bench.sim.tokens import TokenSource, chatml


class ApiError(Exception):
    def __init__(self, status: int, message: str, err_type: str = "BadRequestError"):
        super().__init__(message)
        self.status = status
        self.err_type = err_type


@dataclass(frozen=True)
class GenSpec:
    endpoint: str  # "chat", "completions", "generate"
    prompt_tokens: int
    max_new_tokens: int
    ignore_eos: bool
    stream: bool
    include_usage: bool
    model: str
    body_rid: str | None  # SGLang's `rid` field of /generate, when given
    temperature: float = 1.0
    prompt_key: int = 0  # CRC-32 of the prompt: what greedy output depends on


def _int_field(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(400, f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _message_text(messages: object) -> str:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list")
    flat = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ApiError(400, "every message needs a string role")
        content = m.get("content", "")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise ApiError(400, "message content must be a string or a list of parts")
        flat.append({"role": m["role"], "content": content})
    return chatml(flat)


def parse(
    endpoint: str,
    body: object,
    tokens: TokenSource,
    served_model: str,
    max_req_input_len: int,
    context_length: int,
) -> GenSpec:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if endpoint == "generate":
        params = body.get("sampling_params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise ApiError(400, "sampling_params must be an object")
        if "input_ids" in body and body["input_ids"] is not None:
            ids = body["input_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise ApiError(400, "input_ids must be a list of integers")
            n_prompt = len(ids)
            material = repr(ids)
        elif isinstance(body.get("text"), str):
            material = body["text"]
            n_prompt = tokens.count(material)
        else:
            raise ApiError(400, "either text or input_ids must be given")
        max_new = params.get("max_new_tokens", 128)
        temperature = params.get("temperature", 1.0)
        ignore_eos = bool(params.get("ignore_eos", False))
        include_usage = False
        model = served_model
    else:
        if endpoint == "chat":
            if "messages" not in body:
                raise ApiError(400, "messages is required")
            material = _message_text(body["messages"])
            n_prompt = tokens.count(material)
            default_max = 128
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1:
                prompt = prompt[0]
            if isinstance(prompt, list) and all(isinstance(i, int) for i in prompt):
                n_prompt = len(prompt)
                material = repr(prompt)
            elif isinstance(prompt, str):
                n_prompt = tokens.count(prompt)
                material = prompt
            else:
                raise ApiError(400, "prompt must be a string or a list of token ids")
            default_max = 16
        max_new = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_new is None:
            max_new = default_max
        ignore_eos = bool(body.get("ignore_eos", False))
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        model = body.get("model") if isinstance(body.get("model"), str) else served_model
        temperature = body.get("temperature", 1.0)
    if temperature is None:
        temperature = 1.0
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or temperature < 0:
        raise ApiError(400, f"temperature must be a number >= 0, got {temperature!r}")
    n = body.get("n", 1) if endpoint != "generate" else 1
    if n not in (None, 1):
        raise ApiError(400, f"the simulator serves n=1 only, got n={n!r}")
    max_new = _int_field(max_new, "max_tokens", 1)
    if n_prompt == 0:
        raise ApiError(400, "the prompt is empty")
    if n_prompt > max_req_input_len:
        raise ApiError(
            400,
            f"The input ({n_prompt} tokens) is longer than the model's context length "
            f"({max_req_input_len} tokens).",
        )
    if n_prompt + max_new > context_length:
        raise ApiError(
            400,
            f"Requested token count exceeds the model's maximum context length of "
            f"{context_length} tokens. You requested a total of {n_prompt + max_new} tokens: "
            f"{n_prompt} tokens from the input messages and {max_new} tokens for the "
            f"completion. Please reduce the number of tokens in the input messages or the "
            f"completion to fit within the limit.",
        )
    rid = body.get("rid") if isinstance(body.get("rid"), str) else None
    return GenSpec(
        endpoint,
        n_prompt,
        max_new,
        ignore_eos,
        bool(body.get("stream", False)),
        include_usage,
        model,
        rid,
        float(temperature),
        zlib.crc32(material.encode("utf-8", "surrogatepass")),
    )
