"""The simulated SGLang server: a calibrated stand-in for SGLang on an Atlas 800T A2.

`model` holds the performance model (pure), `scheduler` the continuous-batching loop,
`faults` the fault table, `server` the HTTP transport, `tokens` the token source and
`answers` its one special case: the right answers to the kit's sanity questions.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_PROFILE = "atlas800t-a2-qwen2-7b"


def tokenizer_dir() -> Path:
    """The small tokenizer shipped with the kit (tokenizer.json + tokenizer_config.json)."""
    return Path(__file__).resolve().parent / "tokenizer"


def profiles_dir() -> Path:
    """Where the simulator's named performance profiles (TOML) live."""
    return Path(__file__).resolve().parent / "profiles"
