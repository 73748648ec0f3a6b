"""The simulator's one deliberate special case: it answers the kit's sanity questions right.

Everything else the simulator generates is seeded filler (whole-word tokens): it models
timing, not language. But a run also checks that the server's answers are right
(`bench sanity`, a profile's `[[sanity]]` entry), and a stand-in for a sound server must pass
that check. So a chat or completions request at temperature 0 whose last user message (or
prompt) is exactly one of the kit's sanity questions (`bench.workload.sanity`'s format:
"What is 4821 + 397? Answer with the number only.") is answered with the number: its tokens
in the simulator's tokenizer, then a natural stop (`finish_reason: stop`, unless the request
set `ignore_eos`, when filler follows the number up to `max_tokens`), usage counting exactly
those tokens. Timing is the same as for any other reply of that length.

The answer is computed here from the question's operands, not taken from the kit's expected
answers, so an error in those shows as a disagreement rather than being copied.
`--fault-garbage-rate P` makes that fraction of these answers wrong (the right number plus
a seeded offset in 1..99), marked `garbage` in the ground truth.
"""

from __future__ import annotations

import dataclasses
import operator
import random
from typing import Any

from bench.sim.scheduler import SimRequest
from bench.sim.tokens import TokenSource
from bench.workload.sanity import parse_question

_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _question_text(endpoint: str, body: Any) -> str | None:
    """The last user message of a chat body, or the prompt of a completions body."""
    if not isinstance(body, dict):
        return None
    if endpoint == "completions":
        prompt = body.get("prompt")
        return prompt if isinstance(prompt, str) else None
    if endpoint != "chat" or not isinstance(body.get("messages"), list):
        return None
    users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    if isinstance(content, list):  # content parts: the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None


def sanity_answer(endpoint: str, body: Any, temperature: float) -> int | None:
    """The exact answer when the request is a sanity question asked at temperature 0."""
    if temperature != 0:
        return None
    text = _question_text(endpoint, body)
    if text is None or len(text) > 200:  # a question is one short line
        return None
    question = parse_question(text)
    if question is None:
        return None
    return _ARITHMETIC[question.op](question.a, question.b)


def answer_text(answer: int, *, garbage: bool, seed: int, index: int) -> str:
    """The number the simulator replies with: the answer, or with the garbage fault a wrong
    one (seeded by the request's arrival number, like every fault)."""
    if garbage:
        answer += random.Random(f"{seed}/garbage-offset/{index}").randint(1, 99)
    return str(answer)


def answering(req: SimRequest, text: str, tokens: TokenSource, *, ignore_eos: bool) -> SimRequest:
    """`req` generating `text` (then, with `ignore_eos`, its own filler) instead of filler."""
    ids = tuple(tokens.tokenizer.encode(text, add_special_tokens=False).ids)
    return dataclasses.replace(
        req,
        token_ids=(ids + req.token_ids)[: max(req.max_new_tokens, len(ids))],
        eos_at=None if ignore_eos else len(ids),
    )
