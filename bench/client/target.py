"""The server a run measures, resolved once before anything is sent: its URL, the model
name to request, the tokenizer to build prompts with, and what it says about itself.

One rule finds the tokenizer for every command (`bench run`, `throughput`, `latency`,
studies): `--tokenizer`; else `--model-dir` (or `--model`, when it is a local directory)
holding tokenizer.json; else the tokenizer (or model) directory the server reports in its
self-report, when that path exists on this host. The simulator reports its shipped
tokenizer; SGLang reports its model path, which may be inside a container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import UsageError

NO_TOKENIZER = (
    "no tokenizer: pass --tokenizer DIR or --model-dir DIR (a directory holding the model's "
    "tokenizer.json); the server did not report one that exists on this host"
)


@dataclass(frozen=True)
class Target:
    base_url: str
    model: str  # the served model name requests carry
    tokenizer: Path | None
    self_report: dict[str, Any] | None  # /get_server_info (or /server_info), when it answers
    self_report_missing: str = ""  # why there is no self-report


def pick_tokenizer(
    option: str | Path | None,
    self_report: dict[str, Any] | None,
    model_dir: str | Path | None = None,
    model: str | None = None,
) -> Path | None:
    """The tokenizer directory by the one rule above; None when nothing qualifies."""
    if option:
        return Path(option)
    for candidate in (model_dir, model):
        if candidate is not None and (Path(candidate) / "tokenizer.json").is_file():
            return Path(candidate)
    for key in ("tokenizer_path", "model_path"):
        path = (self_report or {}).get(key)
        if isinstance(path, str) and path and (Path(path) / "tokenizer.json").is_file():
            return Path(path)
    return None


def resolve_target(
    base_url: str,
    *,
    model: str | None = None,
    tokenizer: str | Path | None = None,
    model_dir: str | Path | None = None,
    need_tokenizer: bool = True,
) -> Target:
    """Ask the server about itself (bounded by a timeout), name the model to request (the
    given one, else the first /v1/models lists, which also proves the server answers) and
    pick the tokenizer. No tokenizer when one is needed is a UsageError."""
    from bench.client.runinfo import discover_model
    from bench.system.capture import server_self_report

    base_url = base_url.rstrip("/")
    report, why = server_self_report(base_url)
    served = model or discover_model(base_url)
    chosen = pick_tokenizer(tokenizer, report, model_dir, model)
    if chosen is None and need_tokenizer:
        raise UsageError(NO_TOKENIZER)
    return Target(
        base_url=base_url,
        model=served,
        tokenizer=chosen,
        self_report=report,
        self_report_missing=why,
    )
