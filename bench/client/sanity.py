"""Ask the sanity questions (`bench sanity`, a profile's `[[sanity]]` entry) and score them.

Each question goes alone, one after the other, through the openai SDK (chat or completions)
at temperature 0 with `max_tokens` and a per-request timeout; the SDK does not retry. The
reply is scored by `bench.workload.sanity.score_reply` and its record written at once, so
Ctrl-C keeps every answered question on disk. A request that fails (timeout, HTTP error, no
connection, a reply without choices) is a wrong answer whose record says why; it never
stops the check. The worst case is bounded: `questions` x `timeout_s`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client.api import API_KEY_ENV, request_id
from bench.client.target import Target
from bench.records import RecordWriter
from bench.records.sanity import REPLY_CHARS, SANITY_RECORDS_FORMAT, SanityRecord, counts
from bench.utc import utc_now
from bench.workload.sanity import GENERATOR, Question, SanitySpec, generate_questions, score_reply

WRONG_SHOWN = 3  # wrong answers quoted in the summary


@dataclass(frozen=True)
class Reply:
    """What one question got back: the text, or how the request failed."""

    text: str | None
    finish_reason: str | None = None
    completion_tokens: int | None = None
    error_kind: str | None = None
    error: str | None = None


def _client(base_url: str, timeout_s: float) -> Any:
    import openai

    return openai.OpenAI(
        base_url=base_url.rstrip("/") + "/v1",
        # The SDK requires a key; servers started without --api-key ignore it.
        api_key=os.environ.get(API_KEY_ENV) or "not-needed",
        timeout=timeout_s,
        max_retries=0,
    )


def ask(client: Any, spec: SanitySpec, model: str, question: str, rid: str) -> Reply:
    """One question, not streamed, at temperature 0, sent with `X-Request-Id: rid`; every
    outcome becomes a Reply."""
    import httpx
    import openai

    headers = {"X-Request-Id": rid}
    try:
        if spec.api == "chat":
            response = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": question}],
                max_tokens=spec.max_tokens,
                temperature=0.0,
                extra_headers=headers,
            )
        else:
            response = client.completions.create(
                model=model,
                prompt=question,
                max_tokens=spec.max_tokens,
                temperature=0.0,
                extra_headers=headers,
            )
    except openai.APITimeoutError:
        return Reply(None, error_kind="timeout", error=f"no answer within {spec.timeout_s:g} s")
    except openai.APIStatusError as exc:
        kind = "http_4xx" if exc.status_code < 500 else "http_5xx"
        return Reply(None, error_kind=kind, error=f"HTTP {exc.status_code}: {exc.message[:200]}")
    except openai.APIConnectionError as exc:
        return Reply(None, error_kind="connection", error=f"{exc.__cause__ or exc}"[:200])
    except (openai.APIError, ValueError) as exc:  # a body the SDK cannot read
        return Reply(None, error_kind="malformed", error=f"{type(exc).__name__}: {exc}"[:200])
    except (httpx.HTTPError, OSError) as exc:
        return Reply(None, error_kind="connection", error=f"{type(exc).__name__}: {exc}"[:200])
    choices = getattr(response, "choices", None) or []
    if not choices:
        return Reply(None, error_kind="malformed", error="the reply has no choices")
    choice = choices[0]
    text = choice.message.content if spec.api == "chat" else choice.text
    usage = getattr(response, "usage", None)
    return Reply(
        text or "",
        finish_reason=choice.finish_reason,
        completion_tokens=getattr(usage, "completion_tokens", None),
    )


def scored(index: int, rid: str, question: Question, reply: Reply) -> SanityRecord:
    """Pure: the record of one question and what it got back."""
    common = {"index": index, "rid": rid, "question": question.text, "expected": question.expected}
    if reply.error_kind is not None or reply.text is None:
        kind = reply.error_kind or "malformed"
        return SanityRecord(
            **common,
            correct=False,
            reason=f"request failed ({kind}): {reply.error}",
            error_kind=kind,
        )
    score = score_reply(reply.text, question.expected)
    completion = reply.completion_tokens
    return SanityRecord(
        **common,
        correct=score.correct,
        reply=reply.text[:REPLY_CHARS],
        reply_truncated=len(reply.text) > REPLY_CHARS,
        answer=score.answer,
        reason=score.reason,
        finish_reason=reply.finish_reason,
        completion_tokens=completion if isinstance(completion, int) else None,
    )


def run_sanity(
    spec: SanitySpec,
    target: Target,
    records_path: str | Path,
    *,
    name: str = "sanity",
) -> dict[str, Any]:
    """Ask every question; return the result document's `sanity` object."""
    records_path = Path(records_path)
    questions = generate_questions(spec.questions, spec.seed)
    client = _client(target.base_url, spec.timeout_s)
    started = utc_now()
    records: list[SanityRecord] = []
    try:
        with RecordWriter(records_path) as writer:
            for index, question in enumerate(questions):
                rid = request_id()
                reply = ask(client, spec, target.model, question.text, rid)
                record = scored(index, rid, question, reply)
                writer.write(record)  # type: ignore[arg-type]  # it writes any to_json()
                records.append(record)
    finally:
        client.close()
    tally = counts(records)
    return {
        "name": name,
        "started_utc": started,
        **{k: tally[k] for k in ("questions", "correct", "accuracy")},
        "min_accuracy": spec.min_accuracy,
        "failed_requests": tally["failed_requests"],
        "generator": GENERATOR,
        "seed": spec.seed,
        "api": spec.api,
        "model": target.model,
        "max_tokens": spec.max_tokens,
        "timeout_s": spec.timeout_s,
        "records": {
            "path": str(records_path),
            "sha256": writer.sha256,
            "count": writer.count,
            "format": SANITY_RECORDS_FORMAT,
        },
    }


def passed(sanity: dict[str, Any]) -> bool:
    """Whether the check's accuracy reaches its minimum."""
    return sanity["accuracy"] >= sanity["min_accuracy"]


def summary_lines(sanity: dict[str, Any], records: Sequence[SanityRecord] = ()) -> list[str]:
    """What `bench sanity` and `bench run` print: the verdict, then a few of `records`' wrong
    answers."""
    verdict = "ok" if passed(sanity) else "BELOW the minimum: the server's answers are wrong"
    failed = sanity.get("failed_requests") or 0
    lines = [
        f"sanity: {sanity['correct']} of {sanity['questions']} answers right "
        f"(accuracy {sanity['accuracy']:.2f}, minimum {sanity['min_accuracy']:.2f}"
        + (f", {failed} requests failed" if failed else "")
        + f"): {verdict}"
    ]
    wrong = [r for r in records if not r.correct]
    for record in wrong[:WRONG_SHOWN]:
        lines.append(f"  #{record.index} {record.question} -> {record.reason}")
    if len(wrong) > WRONG_SHOWN:
        lines.append(f"  ... and {len(wrong) - WRONG_SHOWN} more wrong")
    return lines
