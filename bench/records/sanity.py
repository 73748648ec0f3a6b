"""The sanity check's records: one JSON line per question asked, written as each is answered.

A record keeps what is needed to score the question again without asking it again: the
question, its expected answer, the reply (its first `REPLY_CHARS` characters, and whether it
was cut), the number read from it, whether that is right and why not, and, for a request that
failed, its kind (`timeout`, `http_4xx`, `http_5xx`, `connection`, `malformed`, ...): a failed
request is a wrong answer with its reason, never a crash. The result document's `sanity`
object names the file and its sha256; `bench validate` recomputes the counts from it, asks
the generator for the same questions and scores every uncut reply again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.records import read_json_lines

SANITY_RECORDS_FORMAT = "bench-sanity-records-v1"
REPLY_CHARS = 1000  # a reply to "the number only" is a few characters; the cap bounds the file


@dataclass(frozen=True)
class SanityRecord:
    index: int
    rid: str  # the X-Request-Id it was sent with
    question: str
    expected: int
    correct: bool
    reply: str | None = None  # None when the request failed
    reply_truncated: bool = False
    answer: str | None = None  # the number read from the reply, when it held one value
    reason: str | None = None  # why it is wrong; None when right
    error_kind: str | None = None  # the request failed: how
    finish_reason: str | None = None
    completion_tokens: int | None = None  # the server's usage, when it gave one

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_KINDS = {  # field -> accepted JSON types (bool is never an int here)
    "index": (int,),
    "rid": (str,),
    "question": (str,),
    "expected": (int,),
    "correct": (bool,),
    "reply": (str, type(None)),
    "reply_truncated": (bool,),
    "answer": (str, type(None)),
    "reason": (str, type(None)),
    "error_kind": (str, type(None)),
    "finish_reason": (str, type(None)),
    "completion_tokens": (int, type(None)),
}
_REQUIRED = ("index", "rid", "question", "expected", "correct")


def record_from_json(obj: Any) -> SanityRecord:
    """A record from one parsed line; unknown or missing keys and wrong types are errors."""
    if not isinstance(obj, dict):
        raise ValueError("a record must be a JSON object")
    for key in obj:
        if key not in _KINDS:
            raise ValueError(f"unknown key {key!r}")
    for key in _REQUIRED:
        if key not in obj:
            raise ValueError(f"missing key {key!r}")
    for key, value in obj.items():
        wrong_bool = isinstance(value, bool) and bool not in _KINDS[key]
        if wrong_bool or not isinstance(value, _KINDS[key]):
            raise ValueError(f"{key} has the wrong type")
    return SanityRecord(**obj)


def read_sanity_records(path: str | Path) -> list[SanityRecord]:
    """Read a sanity records file; a malformed line is an InputError naming file and line."""
    return read_json_lines(path, record_from_json, "sanity record")


def accuracy(correct: int, questions: int) -> float:
    """correct / questions (0 when nothing was asked)."""
    return correct / questions if questions else 0.0


def counts(records: list[SanityRecord]) -> dict[str, Any]:
    """`questions`, `correct`, `accuracy` and `failed_requests` of a list of records."""
    correct = sum(1 for r in records if r.correct)
    return {
        "questions": len(records),
        "correct": correct,
        "accuracy": accuracy(correct, len(records)),
        "failed_requests": sum(1 for r in records if r.error_kind is not None),
    }
