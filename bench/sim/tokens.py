"""Token counting and generation for the simulator, from a real `tokenizer.json`.

Prompts are counted with the tokenizer clients use. Generated text is built from real
token ids chosen so that re-encoding the text gives back exactly those ids: whole words
with a leading space (`" model"`), each a single token whose decode encodes to itself.
Byte-level BPE pre-tokenizes on those word boundaries, so any sequence of them
round-trips too, and a client that re-tokenizes the stream counts what the server sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import InputError

# The chat format of Qwen2 (ChatML), as its chat template renders it. The simulator applies
# it in Python so it needs no template engine; for another `--tokenizer`, prompt counts of
# chat requests follow ChatML rather than that model's own template.
_DEFAULT_SYSTEM = "You are a helpful assistant."


def chatml(messages: list[dict]) -> str:
    """Render chat messages the way Qwen2's chat template does (with the generation prompt)."""
    parts = []
    if not messages or messages[0].get("role") != "system":
        parts.append(f"<|im_start|>system\n{_DEFAULT_SYSTEM}<|im_end|>\n")
    for message in messages:
        parts.append(f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


@dataclass(frozen=True)
class TokenSource:
    """A loaded tokenizer plus the ids the simulator generates from."""

    tokenizer: object  # tokenizers.Tokenizer
    gen_ids: tuple[int, ...]  # sorted ids that round-trip: encode(decode([i])) == [i]
    gen_text: dict[int, str]  # id -> its decoded text (" word")
    path: Path

    def count(self, text: str) -> int:
        """Tokens in `text`, special tokens included, nothing added.

        `encode_batch` (unlike `encode`) releases the GIL, so a server thread counting a
        long prompt does not stall the event loop that paces the other streams.
        """
        return len(self.ids(text))

    def ids(self, text: str) -> tuple[int, ...]:
        """The token ids of `text` (what the prefix cache matches), as `count` counts them."""
        return tuple(self.tokenizer.encode_batch([text], add_special_tokens=False)[0].ids)

    def text_of(self, ids: list[int]) -> str:
        """The text of generated ids; an id outside the generation set (a digit of a sanity
        answer, see `bench.sim.answers`) is decoded on its own."""
        known = self.gen_text
        return "".join(
            known[i] if i in known else self.tokenizer.decode([i], skip_special_tokens=False)
            for i in ids
        )


def load_token_source(path: Path) -> TokenSource:
    """Load `tokenizer.json` from a directory or a file path, and pick generation ids."""
    from tokenizers import Tokenizer

    file = path / "tokenizer.json" if path.is_dir() else path
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:  # the tokenizers library raises bare Exceptions
        raise InputError(f"cannot load tokenizer {file}: {exc}") from None
    gen_text: dict[int, str] = {}
    for token_id in sorted(tokenizer.get_vocab(with_added_tokens=False).values()):
        text = tokenizer.decode([token_id], skip_special_tokens=False)
        word = text[1:]
        if len(word) < 2 or not text.startswith(" ") or not word.isascii() or not word.isalpha():
            continue
        if tokenizer.encode(text, add_special_tokens=False).ids == [token_id]:
            gen_text[token_id] = text
    if len(gen_text) < 16:
        raise InputError(f"tokenizer {file} has too few whole-word tokens to generate from")
    return TokenSource(
        tokenizer=tokenizer, gen_ids=tuple(sorted(gen_text)), gen_text=gen_text, path=file
    )
