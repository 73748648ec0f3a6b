"""Tokens per content chunk: from the server's usage deltas when it sends them on every
chunk, else by re-tokenizing the whole reply once and assigning each token to the chunk
in which its last character arrived (so the counts always add up to the tokenizer's
total, even where a token straddles two chunks). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...

    def token_ends(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class ChunkCounts:
    tokens: tuple[int, ...]
    source: str  # server_usage | tokenizer | unknown
    client_total: int | None  # the tokenizer's count of the whole reply


def chunk_token_counts(
    texts: list[str], usage_deltas: list[int | None], tokenizer: TokenCounter | None
) -> ChunkCounts:
    client_total = None
    by_tokenizer = None
    if tokenizer is not None:
        whole = "".join(texts)
        ends = tokenizer.token_ends(whole)
        client_total = len(ends)
        chunk_ends = np.cumsum([len(t) for t in texts])
        owner = np.minimum(np.searchsorted(chunk_ends, ends, side="left"), len(texts) - 1)
        by_tokenizer = tuple(int(n) for n in np.bincount(owner, minlength=len(texts)))
    if texts and all(d is not None and d >= 0 for d in usage_deltas):
        return ChunkCounts(tuple(usage_deltas), "server_usage", client_total)  # type: ignore[arg-type]
    if by_tokenizer is not None:
        return ChunkCounts(by_tokenizer, "tokenizer", client_total)
    return ChunkCounts((1,) * len(texts), "unknown", None)
