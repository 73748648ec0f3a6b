"""Replaying a conversation turn by turn: each turn's request carries the whole history.

Turn k+1 is built only once turn k has finished, from the server's own reply, as a chat
client does:

- chat: the messages so far, user and assistant alternating, then the next user turn.
- completions: the text so far with the reply appended as the completion continued it,
  then `"\\n\\n"` and the next user turn; so each turn's prompt starts with the whole
  previous prompt and reply, which a prefix cache can reuse.

A turn that fails ends its conversation: the next turn would have no reply to carry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bench.client.api import request_body, request_id
from bench.client.stream import RequestSpec
from bench.records import Record
from bench.workload.conversations import Conversation

TURN_SEPARATOR = "\n\n"  # completions API: between a reply and the next user turn


@dataclass(frozen=True)
class Replay:
    """How to turn one conversation's history into each of its requests."""

    conversation: Conversation
    api: str  # "chat" or "completions"
    model: str
    url: str
    ignore_eos: bool
    count: Callable[[str], int] | None = None  # the client's tokenizer (completions prompts)

    def first(self) -> RequestSpec:
        return self.request(0, ())

    def request(self, turn: int, replies: tuple[str, ...]) -> RequestSpec:
        """Turn `turn`'s request, after the replies to every earlier turn."""
        conv = self.conversation
        if self.api == "chat":
            messages = []
            for user, reply in zip(conv.user_turns, replies, strict=False):
                messages += [
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": reply},
                ]
            messages.append({"role": "user", "content": conv.user_turns[turn]})
            prompt: str | list = messages
        else:
            parts = [u + r for u, r in zip(conv.user_turns, replies, strict=False)]
            prompt = TURN_SEPARATOR.join([*parts, conv.user_turns[turn]])
        max_tokens = conv.reply_tokens[turn]
        body = request_body(self.api, self.model, "", max_tokens, ignore_eos=self.ignore_eos)
        if self.api == "chat":
            body["messages"] = prompt
        else:
            body["prompt"] = prompt
        counted = self.count(prompt) if self.api == "completions" and self.count else None
        return RequestSpec(
            index=conv.index * len(conv.user_turns) + turn,
            rid=request_id(),
            url=self.url,
            body=body,
            payload=json.dumps(body).encode(),
            prompt_tokens_client=counted,
            requested_output_tokens=max_tokens,
            group=conv.index,
            turn=turn,
        )

    def next(
        self, spec: RequestSpec, record: Record, replies: tuple[str, ...]
    ) -> RequestSpec | None:
        """The request after `spec`, given every reply so far; None when the conversation
        is over (its last turn done, or this turn failed)."""
        turn = (spec.turn or 0) + 1
        if not record.ok or turn >= len(self.conversation.user_turns):
            return None
        return self.request(turn, replies)
