"""Each turn of a replayed conversation carries the history, with the server's replies."""

from __future__ import annotations

import json

from bench.client.conversation import TURN_SEPARATOR, Replay
from bench.records import Record
from bench.workload.conversations import Conversation

CONV = Conversation(index=2, user_turns=("u0", "u1", "u2"), reply_tokens=(4, 5, 6))
OK = Record(index=0, rid="r", warmup=False, send_ns=0, done_ns=1)
FAILED = Record(index=0, rid="r", warmup=False, send_ns=0, done_ns=1, error_kind="timeout")


def replay(api: str) -> Replay:
    return Replay(CONV, api, "m", "http://h/v1/x", ignore_eos=True, count=len)


def test_chat_turns_carry_every_earlier_exchange():
    r = replay("chat")
    first = r.first()
    assert first.body["messages"] == [{"role": "user", "content": "u0"}]
    second = r.next(first, OK, ("A0",))
    third = r.next(second, OK, ("A0", "A1"))
    assert third.body["messages"] == [
        {"role": "user", "content": "u0"},
        {"role": "assistant", "content": "A0"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "u2"},
    ]
    assert [s.body["max_tokens"] for s in (first, second, third)] == [4, 5, 6]
    assert json.loads(third.payload) == third.body
    assert third.prompt_tokens_client is None  # the server adds a chat template


def test_index_group_and_turn_say_where_each_request_is():
    r = replay("chat")
    first = r.first()
    second = r.next(first, OK, ("A0",))
    assert (first.index, first.group, first.turn) == (6, 2, 0)  # conversation 2 of 3 turns
    assert (second.index, second.group, second.turn) == (7, 2, 1)
    assert first.rid != second.rid and not first.warmup


def test_completions_turns_continue_the_text_with_each_reply():
    r = replay("completions")
    first = r.first()
    second = r.next(first, OK, ("A0",))
    assert first.body["prompt"] == "u0"
    assert second.body["prompt"] == "u0A0" + TURN_SEPARATOR + "u1"
    assert second.body["prompt"].startswith(first.body["prompt"])  # a prefix to reuse
    assert second.prompt_tokens_client == len(second.body["prompt"])  # counted by `count`


def test_a_failed_turn_or_the_last_one_ends_the_conversation():
    r = replay("chat")
    first = r.first()
    assert r.next(first, FAILED, ("",)) is None
    second = r.next(first, OK, ("A0",))
    third = r.next(second, OK, ("A0", "A1"))
    assert r.next(third, OK, ("A0", "A1", "A2")) is None
