"""Shared-prefix prompts: SGLang bench_serving's `generated-shared-prefix`, with exact lengths.

`num_groups` groups each get one system prompt; each group gets `prompts_per_group`
questions; a prompt is `system prompt + "\\n\\n" + question`, as in SGLang, so every prompt
of a group shares its system prompt (and the separator) as a prefix a server can cache.
As `--gsp-range-ratio` does in SGLang releases after 0.5.3, lengths are drawn uniform in
[max(int(L x r), 1), L]: one system-prompt length per group, one question and one output
length per prompt (r = 1, the default, fixes them).

Where SGLang decodes random ids of the whole vocabulary (so its lengths are approximate),
the kit builds each text from whole-word tokens of exactly the drawn length
(`dataset.exact_length_text`) and counts the joined prompt with the tokenizer. The prompts
are then shuffled across groups with the seed, as SGLang shuffles them, so the first
prompt of each group arrives at a random point of the run.
"""

from __future__ import annotations

import numpy as np

from bench.errors import UsageError
from bench.workload.dataset import (
    Prompt,
    Tokenizer,
    exact_length_text,
    length_range,
    word_token_ids,
)

SEPARATOR = "\n\n"  # between the system prompt and the question, as in SGLang


def shared_prefix_prompts(
    tokenizer: Tokenizer,
    *,
    num_groups: int,
    prompts_per_group: int,
    system_prompt_len: int,
    question_len: int,
    output_len: int,
    range_ratio: float,
    seed: int,
) -> list[Prompt]:
    """`num_groups x prompts_per_group` prompts, shuffled; each carries its group index."""
    if min(num_groups, prompts_per_group, system_prompt_len, question_len, output_len) < 1:
        raise UsageError("every generated-shared-prefix size must be at least 1")
    rng = np.random.default_rng(seed)
    n = num_groups * prompts_per_group
    system_lens = _lengths(rng, system_prompt_len, range_ratio, num_groups)
    question_lens = _lengths(rng, question_len, range_ratio, n)
    output_lens = _lengths(rng, output_len, range_ratio, n)
    words = word_token_ids(tokenizer)
    systems = [exact_length_text(tokenizer, length, rng, words) for length in system_lens]
    prompts = []
    for i in range(n):
        group = i // prompts_per_group
        question = exact_length_text(tokenizer, question_lens[i], rng, words)
        text = systems[group] + SEPARATOR + question
        prompts.append(Prompt(text, tokenizer.count(text), output_lens[i], group=group))
    return [prompts[int(i)] for i in rng.permutation(n)]


def _lengths(rng: np.random.Generator, length: int, range_ratio: float, size: int) -> list[int]:
    low, high = length_range(length, range_ratio)
    return [int(v) for v in rng.integers(low, high + 1, size=size)]
