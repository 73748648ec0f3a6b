"""Tokens per content chunk: usage deltas when the server sends them, else the tokenizer."""

from __future__ import annotations

import pytest

from bench.client.counting import chunk_token_counts
from bench.sim import tokenizer_dir
from bench.workload.dataset import load_tokenizer


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(tokenizer_dir())


def test_usage_deltas_win_when_every_chunk_has_one(tok):
    counts = chunk_token_counts([" model", " batch"], [1, 1], tok)
    assert counts.tokens == (1, 1) and counts.source == "server_usage"
    assert counts.client_total == 2


def test_tokenizer_counts_each_chunk_and_they_add_up(tok):
    texts = [" model", " batch model", " batch"]
    counts = chunk_token_counts(texts, [None, None, None], tok)
    assert counts.source == "tokenizer"
    assert counts.tokens == (1, 2, 1)
    assert sum(counts.tokens) == counts.client_total == tok.count("".join(texts))


def test_a_token_split_across_chunks_belongs_to_the_chunk_where_it_ends(tok):
    # " model" is one token; it arrives as " mo" + "del"
    counts = chunk_token_counts([" mo", "del"], [None, None], tok)
    assert counts.tokens == (0, 1) and counts.client_total == 1


def test_without_usage_or_tokenizer_each_chunk_counts_one():
    counts = chunk_token_counts(["a", "b"], [None, None], None)
    assert counts.tokens == (1, 1) and counts.source == "unknown" and counts.client_total is None
