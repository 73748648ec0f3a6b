"""Helpers shared by the load generator and the latency probe: the server's model name,
the event loop, and the schema's `workload` and `run` objects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bench import __version__
from bench.client.api import server_get
from bench.errors import BenchError
from bench.records import RECORDS_FORMAT

T = TypeVar("T")
MODELS_TIMEOUT_S = 10.0


def discover_model(base_url: str, timeout_s: float = MODELS_TIMEOUT_S) -> str:
    """The first model id the server lists at /v1/models (what SGLang serves)."""
    url = base_url.rstrip("/") + "/v1/models"
    try:
        with urllib.request.urlopen(server_get(url), timeout=timeout_s) as response:
            body = json.loads(response.read(1 << 20))
        return str(body["data"][0]["id"])
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BenchError(f"cannot reach the server at {base_url}: {reason}") from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise BenchError(f"{url} did not list a model; pass --model NAME") from None


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it is installed, else on the standard event loop."""
    factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


WORKLOAD_KEYS = (
    "dataset", "dataset_path", "dataset_sha256", "input_len", "output_len", "range_ratio",
    "num_prompts", "max_concurrency", "request_rate_rps", "burstiness", "warmup_requests",
    "seed", "api", "ignore_eos", "stream", "timeout_s", "tokenizer", "prompt_description",
    "notes",
)  # fmt: skip
# Keys of one dataset only (generated-shared-prefix, multi-turn): present when given.
DATASET_KEYS = (
    "gsp_num_groups", "gsp_prompts_per_group", "gsp_system_prompt_len", "gsp_question_len",
    "gsp_output_len", "mt_num_conversations", "mt_num_turns", "mt_user_len",
)  # fmt: skip
CHAT_NOTE = (
    "chat API: the input length counts the tokens of the user message; the server adds its "
    "chat template and reports the total as usage.prompt_tokens (N_in)"
)


def workload_object(**fields: Any) -> dict[str, Any]:
    """The schema's `workload`, every key in the schema's order (None where not given); a
    dataset's own keys (`DATASET_KEYS`) only where given."""
    unknown = sorted(set(fields) - set(WORKLOAD_KEYS) - set(DATASET_KEYS))
    if unknown:
        raise ValueError(f"not a workload field: {unknown[0]}")
    workload = {key: fields.get(key) for key in WORKLOAD_KEYS}
    workload.update({k: fields[k] for k in DATASET_KEYS if fields.get(k) is not None})
    if workload["notes"] is None and workload["api"] == "chat":
        workload["notes"] = CHAT_NOTE
    return workload


def run_object(
    *,
    name: str,
    started_utc: str,
    workload: dict[str, Any],
    driver: str,
    records_path: Path,
    records_sha256: str,
    records_count: int,
    metrics: dict[str, Any],
    notes: str | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """The schema's `run` object; `workers` (the kit's load generator) goes in its driver."""
    driver_object = {"name": driver, "version": __version__, "command": None, "as_written": None}
    if workers is not None:
        driver_object["workers"] = workers
    return {
        "name": name,
        "started_utc": started_utc,
        "workload": workload,
        "driver": driver_object,
        "records": {
            "path": str(records_path),
            "sha256": records_sha256,
            "count": records_count,
            "format": RECORDS_FORMAT,
        },
        "metrics": metrics,
        "notes": notes,
    }
