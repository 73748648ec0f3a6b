"""Prompts for a run: random prompts of exact token length, or a local ShareGPT file.

`random`: each prompt is a sequence of whole-word vocabulary tokens (`" word"`, one token
each, chosen with a seeded generator). A byte-level BPE tokenizer pre-tokenizes on those
word boundaries, so the prompt encodes to exactly the chosen number of tokens; the
length is checked by encoding it, and adjusted if another tokenizer merges differently.
Lengths follow SGLang's `--random-range-ratio`: input lengths uniform in
[max(int(L x r), 1), L], output lengths in [max(int(O x r), 1), O] (SGLang allows 0
output tokens at r = 0; the kit asks for at least 1).

For the chat API, the prompt is the user message's content: `input_len` counts its
tokens, as SGLang's and vLLM's benchmark tools do. The server adds its chat template
(about 20 tokens for Qwen2) and reports the total as usage.prompt_tokens, which the kit
records as N_in.

`sharegpt`: the first two turns of each conversation of a local ShareGPT-format JSON
file (never downloaded), shuffled with the seed; prompt length counted with the
tokenizer, output length from the reply unless `output_len` fixes it; conversations with
fewer than 2 prompt or output tokens are skipped, as in SGLang.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import InputError, UsageError
from bench.units import GIB

MAX_DATASET_BYTES = 2 * GIB


@dataclass(frozen=True)
class Prompt:
    """One request's prompt: its text, its token count, and the output tokens to ask for.
    `group` is the shared-prefix group it belongs to (None outside that dataset)."""

    text: str
    prompt_tokens: int
    output_tokens: int
    group: int | None = None


@dataclass(frozen=True)
class Tokenizer:
    """A `tokenizers.Tokenizer` loaded from a model directory's tokenizer.json."""

    backend: Any
    path: Path

    def count(self, text: str) -> int:
        return len(self.backend.encode(text, add_special_tokens=False).ids)

    def token_ends(self, text: str) -> list[int]:
        """The character offset where each token of `text` ends (for per-chunk counts)."""
        return [end for _start, end in self.backend.encode(text, add_special_tokens=False).offsets]

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load tokenizer.json from a model directory (or the file itself)."""
    from tokenizers import Tokenizer as HFTokenizer

    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"no tokenizer.json at {path} (pass --tokenizer DIR of the model)")
    try:
        backend = HFTokenizer.from_file(str(file))
    except Exception as exc:  # the tokenizers library raises bare Exceptions
        raise InputError(f"cannot load tokenizer {file}: {str(exc).splitlines()[0]}") from None
    return Tokenizer(backend=backend, path=file)


@lru_cache(maxsize=4)
def word_token_ids(tokenizer: Tokenizer) -> tuple[int, ...]:
    """Sorted ids of tokens that decode to " word" (ASCII letters) and encode back alone."""
    vocab = tokenizer.backend.get_vocab(with_added_tokens=False)
    ids = sorted(vocab.values())
    texts = tokenizer.backend.decode_batch([[i] for i in ids], skip_special_tokens=True)
    candidates = [
        (i, t)
        for i, t in zip(ids, texts, strict=True)
        if len(t) >= 3 and t[0] == " " and t[1:].isascii() and t[1:].isalpha()
    ]
    encoded = tokenizer.backend.encode_batch([t for _i, t in candidates], add_special_tokens=False)
    chosen = tuple(i for (i, _t), enc in zip(candidates, encoded, strict=True) if enc.ids == [i])
    if len(chosen) < 16:
        raise InputError(f"tokenizer {tokenizer.path} has too few whole-word tokens for prompts")
    return chosen


def exact_length_text(
    tokenizer: Tokenizer, length: int, rng: np.random.Generator, words: tuple[int, ...]
) -> str:
    """A text of random whole words that encodes to exactly `length` tokens."""
    ids = [int(i) for i in rng.choice(words, size=length)]
    text = tokenizer.decode(ids)
    for _ in range(8):  # only a tokenizer that merges across words needs this
        count = tokenizer.count(text)
        if count == length:
            return text
        if count > length:
            ids = ids[: len(ids) - (count - length)]
        else:
            ids += [int(i) for i in rng.choice(words, size=length - count)]
        text = tokenizer.decode(ids)
    raise InputError(f"cannot build a prompt of exactly {length} tokens with {tokenizer.path}")


def length_range(length: int, range_ratio: float) -> tuple[int, int]:
    """[low, high] of SGLang's --random-range-ratio (at least 1 token)."""
    if not 0.0 <= range_ratio <= 1.0:
        raise UsageError(f"--range-ratio must be between 0 and 1, got {range_ratio}")
    return max(int(length * range_ratio), 1), length


def random_prompts(
    tokenizer: Tokenizer,
    *,
    num_prompts: int,
    input_len: int,
    output_len: int,
    range_ratio: float,
    seed: int,
) -> list[Prompt]:
    """`num_prompts` prompts with lengths drawn as SGLang does, from a seeded generator."""
    if input_len < 1 or output_len < 1:
        raise UsageError("--input-len and --output-len must be at least 1")
    rng = np.random.default_rng(seed)
    in_low, in_high = length_range(input_len, range_ratio)
    out_low, out_high = length_range(output_len, range_ratio)
    input_lens = rng.integers(in_low, in_high + 1, size=num_prompts)
    output_lens = rng.integers(out_low, out_high + 1, size=num_prompts)
    words = word_token_ids(tokenizer)
    return [
        Prompt(
            text=exact_length_text(tokenizer, int(n_in), rng, words),
            prompt_tokens=int(n_in),
            output_tokens=int(n_out),
        )
        for n_in, n_out in zip(input_lens, output_lens, strict=True)
    ]


def _first_two_turns(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    turns = entry.get("conversations", entry.get("conversation"))
    if not isinstance(turns, list) or len(turns) < 2:
        return None
    values = [t.get("value") if isinstance(t, dict) else None for t in turns[:2]]
    if not all(isinstance(v, str) for v in values):
        return None
    return values[0], values[1]


def load_sharegpt(path: str | Path) -> list[Any]:
    """The entries of a local ShareGPT-format JSON file (a list of {"conversations": [...]})."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_DATASET_BYTES:
            raise InputError(f"dataset {path} is larger than 2 GiB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"dataset {path} does not exist (the kit never downloads one)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"dataset {path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise InputError(f"dataset {path} is not a ShareGPT list of conversations")
    return data


def sharegpt_prompts(
    tokenizer: Tokenizer,
    path: str | Path,
    *,
    num_prompts: int,
    output_len: int | None,
    seed: int,
) -> list[Prompt]:
    """Prompts from a local ShareGPT-format JSON file (a list of {"conversations": [...]})."""
    pairs = [p for p in (_first_two_turns(e) for e in load_sharegpt(path)) if p is not None]
    order = np.random.default_rng(seed).permutation(len(pairs))
    prompts: list[Prompt] = []
    for index in order:
        if len(prompts) == num_prompts:
            break
        prompt, reply = pairs[int(index)]
        n_in = tokenizer.count(prompt)
        n_out = output_len if output_len is not None else tokenizer.count(reply)
        if n_in < 2 or n_out < 2:
            continue
        prompts.append(Prompt(text=prompt, prompt_tokens=n_in, output_tokens=n_out))
    if len(prompts) < num_prompts:
        raise InputError(
            f"dataset {path} has only {len(prompts)} usable conversations, "
            f"{num_prompts} were asked for"
        )
    return prompts
