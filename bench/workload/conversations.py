"""Conversations for the `multi-turn` dataset: the user turns and each reply's length.

A conversation is replayed turn by turn (bench.client.conversation): each turn's request
carries the whole history, with the server's own replies in it, as a chat client does. This
module only decides what the user says and how long each reply may be:

- synthetic (no dataset file): `num_conversations` conversations of `num_turns` user turns
  of exactly `user_len` tokens (whole-word text, as the random dataset builds it), replies
  of `output_len` tokens; with `range_ratio` < 1 each length is drawn uniform in
  [max(int(L x r), 1), L], as SGLang draws them.
- ShareGPT (a local file, never downloaded): conversations with at least `num_turns`
  (user, assistant) exchanges, shuffled with the seed; the first `num_turns` user turns
  are replayed, and each reply may be as long as the file's reply (counted with the
  tokenizer) unless `output_len` fixes it. A leading system turn is skipped; a conversation
  whose turns do not alternate user/assistant, or with an empty user turn or a reply of
  fewer than 2 tokens (SGLang's rule for ShareGPT), is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import InputError
from bench.workload.dataset import (
    Tokenizer,
    exact_length_text,
    length_range,
    load_sharegpt,
    word_token_ids,
)

USER_ROLES = ("human", "user")
ASSISTANT_ROLES = ("gpt", "assistant", "chatgpt", "bard", "bing", "model")


@dataclass(frozen=True)
class Conversation:
    """One conversation to replay: its index, its user turns, each reply's max_tokens."""

    index: int
    user_turns: tuple[str, ...]
    reply_tokens: tuple[int, ...]


def synthetic_conversations(
    tokenizer: Tokenizer,
    *,
    num_conversations: int,
    num_turns: int,
    user_len: int,
    output_len: int,
    range_ratio: float,
    seed: int,
) -> list[Conversation]:
    """Conversations of exact-length user turns, from a seeded generator."""
    rng = np.random.default_rng(seed)
    shape = (num_conversations, num_turns)
    user_low, user_high = length_range(user_len, range_ratio)
    out_low, out_high = length_range(output_len, range_ratio)
    user_lens = rng.integers(user_low, user_high + 1, size=shape)
    reply_lens = rng.integers(out_low, out_high + 1, size=shape)
    words = word_token_ids(tokenizer)
    return [
        Conversation(
            index=c,
            user_turns=tuple(
                exact_length_text(tokenizer, int(n), rng, words) for n in user_lens[c]
            ),
            reply_tokens=tuple(int(n) for n in reply_lens[c]),
        )
        for c in range(num_conversations)
    ]


def _role(turn: dict[str, Any]) -> str | None:
    role = turn.get("from", turn.get("role"))
    return role.lower() if isinstance(role, str) else None


def _exchanges(entry: Any, num_turns: int) -> list[tuple[str, str]] | None:
    """The first `num_turns` (user, assistant) texts of a ShareGPT entry, or None."""
    if not isinstance(entry, dict):
        return None
    turns = entry.get("conversations", entry.get("conversation"))
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        return None
    if turns and _role(turns[0]) == "system":
        turns = turns[1:]
    if len(turns) < 2 * num_turns:
        return None
    out = []
    for k in range(num_turns):
        user, reply = turns[2 * k], turns[2 * k + 1]
        if _role(user) in ASSISTANT_ROLES or _role(reply) in USER_ROLES:
            return None
        texts = (user.get("value", user.get("content")), reply.get("value", reply.get("content")))
        if not all(isinstance(t, str) for t in texts):
            return None
        out.append(texts)
    return out


def sharegpt_conversations(
    tokenizer: Tokenizer,
    path: str | Path,
    *,
    num_conversations: int,
    num_turns: int,
    output_len: int | None,
    seed: int,
) -> list[Conversation]:
    """`num_conversations` conversations of the file with at least `num_turns` exchanges."""
    usable = [e for e in (_exchanges(x, num_turns) for x in load_sharegpt(path)) if e]
    order = np.random.default_rng(seed).permutation(len(usable))
    chosen: list[Conversation] = []
    for i in order:
        if len(chosen) == num_conversations:
            break
        exchanges = usable[int(i)]
        replies = [
            output_len if output_len is not None else tokenizer.count(reply)
            for _user, reply in exchanges
        ]
        if any(not user.strip() for user, _reply in exchanges) or min(replies) < 2:
            continue
        chosen.append(Conversation(len(chosen), tuple(u for u, _r in exchanges), tuple(replies)))
    if len(chosen) < num_conversations:
        raise InputError(
            f"dataset {path} has only {len(chosen)} usable conversations of at least "
            f"{num_turns} turns, {num_conversations} were asked for"
        )
    return chosen
