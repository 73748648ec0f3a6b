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
    prompt_ids: tuple[int, ...] = ()  # its token ids: what the prefix cache matches
    sanity_answer: int | None = None  # a sanity question's answer (bench.sim.answers)


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


@dataclass(frozen=True)
class Fields:
    """What one endpoint family reads from a body, before the checks every family shares."""

    material: str  # the prompt as text (or the repr of its ids): greedy output depends on it
    ids: tuple[int, ...]  # the prompt's token ids
    max_new: object  # unchecked: the shared checks say what is wrong with it
    temperature: object
    ignore_eos: bool
    include_usage: bool
    model: str
    n: object = 1

    @property
    def prompt_tokens(self) -> int:
        return len(self.ids)


def _generate_fields(body: dict, tokens: TokenSource, served_model: str) -> Fields:
    """SGLang's native /generate: `text` or `input_ids`, options in `sampling_params`."""
    params = body.get("sampling_params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ApiError(400, "sampling_params must be an object")
    if "input_ids" in body and body["input_ids"] is not None:
        ids = body["input_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ApiError(400, "input_ids must be a list of integers")
        material, prompt_ids = repr(ids), tuple(ids)
    elif isinstance(body.get("text"), str):
        material = body["text"]
        prompt_ids = tokens.ids(material)
    else:
        raise ApiError(400, "either text or input_ids must be given")
    return Fields(
        material,
        prompt_ids,
        max_new=params.get("max_new_tokens", 128),
        temperature=params.get("temperature", 1.0),
        ignore_eos=bool(params.get("ignore_eos", False)),
        include_usage=False,
        model=served_model,
    )


def _chat_fields(body: dict, tokens: TokenSource, served_model: str) -> Fields:
    """OpenAI /v1/chat/completions: `messages`, counted after the chat template."""
    if "messages" not in body:
        raise ApiError(400, "messages is required")
    material = _message_text(body["messages"])
    return _openai_fields(body, material, tokens.ids(material), served_model, default_max=128)


def _completions_fields(body: dict, tokens: TokenSource, served_model: str) -> Fields:
    """OpenAI /v1/completions: `prompt` as text or token ids (or a list of one of them)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, list) and all(isinstance(i, int) for i in prompt):
        material, ids = repr(prompt), tuple(prompt)
    elif isinstance(prompt, str):
        material, ids = prompt, tokens.ids(prompt)
    else:
        raise ApiError(400, "prompt must be a string or a list of token ids")
    return _openai_fields(body, material, ids, served_model, default_max=16)


def _openai_fields(
    body: dict, material: str, ids: tuple[int, ...], served_model: str, *, default_max: int
) -> Fields:
    """The options both OpenAI endpoints share."""
    max_new = body.get("max_completion_tokens", body.get("max_tokens"))
    options = body.get("stream_options") or {}
    return Fields(
        material,
        ids,
        max_new=default_max if max_new is None else max_new,
        temperature=body.get("temperature", 1.0),
        ignore_eos=bool(body.get("ignore_eos", False)),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        model=body.get("model") if isinstance(body.get("model"), str) else served_model,
        n=body.get("n", 1),
    )


# endpoint -> the function that reads its family's fields from a body (a dict)
FAMILIES = {"generate": _generate_fields, "chat": _chat_fields, "completions": _completions_fields}


def _checked_temperature(value: object) -> float:
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ApiError(400, f"temperature must be a number >= 0, got {value!r}")
    return float(value)


def _check_lengths(n_prompt: int, max_new: int, max_req_input_len: int, context_length: int):
    if n_prompt == 0:
        raise ApiError(400, "the prompt is empty")
    if n_prompt > max_req_input_len:
        raise ApiError(
            400,
            f"The input ({n_prompt} tokens) is longer than the model's context length "
            f"({max_req_input_len} tokens).",
        )
    if n_prompt + max_new >= context_length:  # SGLang: the total must stay below it
        raise ApiError(
            400,
            f"Requested token count exceeds the model's maximum context length of "
            f"{context_length} tokens. You requested a total of {n_prompt + max_new} tokens: "
            f"{n_prompt} tokens from the input messages and {max_new} tokens for the "
            f"completion. Please reduce the number of tokens in the input messages or the "
            f"completion to fit within the limit.",
        )


def parse(
    endpoint: str,
    body: object,
    tokens: TokenSource,
    served_model: str,
    max_req_input_len: int,
    context_length: int,
) -> GenSpec:
    """One request body of `endpoint` ("chat", "completions", "generate") as a GenSpec: its
    family's fields, then the checks all families share (temperature, n, max_tokens, the
    prompt's length against the context), in that order."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    fields = FAMILIES[endpoint](body, tokens, served_model)
    temperature = _checked_temperature(fields.temperature)
    if fields.n not in (None, 1):
        raise ApiError(400, f"the simulator serves n=1 only, got n={fields.n!r}")
    max_new = _int_field(fields.max_new, "max_tokens", 1)
    _check_lengths(len(fields.ids), max_new, max_req_input_len, context_length)
    rid = body.get("rid") if isinstance(body.get("rid"), str) else None
    return GenSpec(
        endpoint,
        len(fields.ids),
        max_new,
        fields.ignore_eos,
        bool(body.get("stream", False)),
        fields.include_usage,
        fields.model,
        rid,
        temperature,
        zlib.crc32(fields.material.encode("utf-8", "surrogatepass")),
        fields.ids,
    )
