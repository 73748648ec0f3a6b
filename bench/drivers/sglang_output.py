"""Read `sglang.bench_serving --output-file` lines and map one into a schema `run` object.

The output file is JSON Lines, one object appended per benchmark run. Its key set differs
between releases (read in SGLang's source):

- 0.4.x to 0.5.3: `duration`, `completed`, `total_input_tokens`, `total_output_tokens`,
  `total_output_tokens_retokenized`, `request_throughput`, `input_throughput`,
  `output_throughput`, mean/median/std/p99 of `e2e_latency_ms`, `ttft_ms`, `tpot_ms`,
  mean/median/std/p95/p99 of `itl_ms`, `concurrency`, `accept_length`; no total throughput.
- later 0.5.x adds `total_throughput`, p90/p95 of every latency, `tag`, `server_info`,
  `max_output_tokens_per_s`, `max_concurrent_requests`, and with `--goodput`
  `goodput_slos_ms`, `request_goodput`, `slo_attainment`.
- with `--output-details` (every release here): per-request `input_lens`, `output_lens`,
  `ttfts` and `itls` (seconds), `generated_texts`, `errors` (empty string = success).

When the per-request details are there, the latency statistics are recomputed from them
with the kit's definitions (docs/measuring.md, "Metric definitions"): TTFT as sglang
measured it (first chunk with text), E2E = TTFT + the sum of the request's ITLs (the last
chunk with text; sglang's own `latency` runs to the final `[DONE]` line),
TPOT = (E2E - TTFT) / (N_out - 1).
Without details only the summary statistics sglang printed are kept. `request_rate` is
written by Python's json as the non-JSON literal `Infinity` when infinite: read here, and
mapped to null.
"""

from __future__ import annotations

import http
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.errors import InputError
from bench.metrics import (
    PERCENTILE_METHOD,
    interactivity_tok_s,
    summarize,
    throughput_figures,
)

DRIVER_NAME = "sglang.bench_serving"
RECORDS_FORMAT = "sglang-bench-serving-jsonl"
MAX_OUTPUT_BYTES = 256 * 1024 * 1024

# sglang.bench_serving's --backend -> the schema's workload.api
BACKEND_API = {
    "sglang": "generate",
    "sglang-native": "generate",
    "sglang-oai": "completions",
    "vllm": "completions",
    "lmdeploy": "completions",
    "sglang-oai-chat": "chat",
    "vllm-chat": "chat",
    "lmdeploy-chat": "chat",
}
# The aiohttp session timeout every release here uses for each request (6 hours).
SGLANG_REQUEST_TIMEOUT_S = 6 * 60 * 60.0
REQUIRED_KEYS = ("duration", "completed", "total_input_tokens", "total_output_tokens")


@dataclass(frozen=True)
class Invocation:
    """What the kit knows about the command that produced an output line."""

    argv: tuple[str, ...]
    version: str | None
    num_prompts: int
    seed: int | None = None
    warmup_requests: int = 0
    dataset_path: str | None = None
    dataset_sha256: str | None = None
    tokenizer: str | None = None
    as_written: bool = False
    records_path: str | None = None
    records_sha256: str | None = None
    notes: str | None = None
    gsp: dict[str, int] | None = None  # a generated-shared-prefix run's gsp_* keys


def parse_output(text: str, where: str = "sglang output") -> list[dict[str, Any]]:
    """Every JSON line of an output file, in order; `Infinity`/`NaN` become None."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_OUTPUT_BYTES:
        raise InputError(f"{where}: larger than {MAX_OUTPUT_BYTES // 2**20} MiB")
    results = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=lambda _name: None)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: line {number} is not JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: line {number} is not a JSON object")
        missing = [k for k in REQUIRED_KEYS if k not in obj]
        if missing:
            raise InputError(
                f"{where}: line {number} lacks {', '.join(missing)}: "
                "not a sglang.bench_serving result line"
            )
        results.append(obj)
    if not results:
        raise InputError(f"{where}: no result line (sglang.bench_serving wrote nothing)")
    return results


def _number(result: dict[str, Any], key: str) -> float | None:
    value = result.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _summary_stats(result: dict[str, Any], metric: str, count: int | None) -> dict[str, Any]:
    """The statistics sglang printed for one metric (no min/max: it never wrote them)."""
    stats: dict[str, Any] = {}
    for field, prefix in (("mean", "mean"), ("median", "median"), ("std", "std")):
        value = _number(result, f"{prefix}_{metric}")
        if value is not None:
            stats[field] = value
    for field in ("p90", "p99"):
        value = _number(result, f"{field}_{metric}")
        if value is not None:
            stats[field] = value
    if stats and count is not None:
        stats["count"] = count
    return stats


def classify_error(error: str) -> str:
    """The schema's failure kind for one of sglang's per-request error strings.

    sglang stores the HTTP reason phrase for a non-200 answer and a traceback otherwise.
    """
    text = error.strip()
    for status in http.HTTPStatus:
        if text == status.phrase:
            return "http_4xx" if 400 <= status.value < 500 else "http_5xx"
    if "TimeoutError" in text or "Timeout" in text:
        return "timeout"
    if "ClientPayloadError" in text or "ServerDisconnectedError" in text:
        return "stream_cut"
    if "ClientConnectorError" in text or "ConnectionRefused" in text:
        return "connection"
    if "JSONDecodeError" in text or "KeyError" in text or "IndexError" in text:
        return "malformed"
    return "other"


def _details(result: dict[str, Any]) -> dict[str, list[Any]] | None:
    keys = ("input_lens", "output_lens", "ttfts", "itls", "errors")
    if not all(isinstance(result.get(k), list) for k in keys):
        return None
    lengths = {len(result[k]) for k in keys}
    if len(lengths) != 1:
        raise InputError("sglang output: per-request detail lists differ in length")
    return {k: result[k] for k in keys}


def _metrics_from_details(details: dict[str, list[Any]]) -> dict[str, Any]:
    ok = [i for i, e in enumerate(details["errors"]) if not e]
    ttft = [details["ttfts"][i] * 1000.0 for i in ok]
    itl = [gap * 1000.0 for i in ok for gap in details["itls"][i]]
    decode = {i: sum(details["itls"][i]) * 1000.0 for i in ok}
    e2e = [details["ttfts"][i] * 1000.0 + decode[i] for i in ok]
    tpot = [
        decode[i] / (details["output_lens"][i] - 1) for i in ok if details["output_lens"][i] > 1
    ]
    out: dict[str, Any] = {}
    for key, values in (("ttft_ms", ttft), ("tpot_ms", tpot), ("itl_ms", itl), ("e2e_ms", e2e)):
        stats = summarize(values)
        if stats is not None:
            out[key] = stats
    out["tpot_excluded_requests"] = len(ok) - len(tpot)
    failures = Counter(classify_error(e) for e in details["errors"] if e)
    out["failures"] = dict(sorted(failures.items()))
    return out


def map_run(result: dict[str, Any], invocation: Invocation, name: str) -> dict[str, Any]:
    """One output line -> a schema `run` object (driver `sglang.bench_serving`)."""
    duration = _number(result, "duration")
    if duration is None or duration <= 0:
        raise InputError("sglang output: `duration` is missing or not positive")
    completed = int(result["completed"])
    total_in = int(result["total_input_tokens"])
    total_out = int(result["total_output_tokens"])
    details = _details(result)
    sent = len(details["errors"]) if details else invocation.num_prompts
    metrics: dict[str, Any] = {
        "duration_s": duration,
        "requests_sent": sent,
        "requests_completed": completed,
        "requests_failed": sent - completed,
    }
    notes = []
    if details:
        if sent - completed != sum(1 for e in details["errors"] if e):
            raise InputError("sglang output: `completed` disagrees with the per-request errors")
        recomputed = _metrics_from_details(details)
        metrics["failures"] = recomputed.pop("failures")
        latency = recomputed
        notes.append(
            "latency statistics recomputed from sglang.bench_serving's per-request output "
            "(--output-details) with the kit's definitions; E2E ends at the last chunk with text"
            + _own_summary(result)
        )
    else:
        if sent > completed:
            metrics["failures"] = {"unknown": sent - completed}
        latency = {
            f"{metric}_ms": _summary_stats(result, f"{metric}_ms", completed)
            for metric in ("ttft", "tpot", "itl")
        }
        latency["e2e_ms"] = _summary_stats(result, "e2e_latency_ms", completed)
        latency["itl_ms"].pop("count", None)
        latency = {k: v for k, v in latency.items() if v}
        notes.append(
            "no per-request details in the output (run without --output-details): "
            "only the summary statistics sglang.bench_serving wrote (no min, max)"
        )
    metrics["total_input_tokens"] = total_in
    metrics["total_output_tokens"] = total_out
    metrics.update(throughput_figures(completed, total_in, total_out, duration))
    metrics["achieved_concurrency"] = _number(result, "concurrency")
    rate = _number(result, "request_rate")
    metrics["requested_rate_rps"] = rate
    metrics["achieved_rate_rps"] = None
    metrics["schedule_lag_ms"] = None
    metrics.update(latency)
    metrics["interactivity_tok_s"] = interactivity_tok_s(metrics.get("tpot_ms", {}).get("median"))
    metrics["output_throughput_per_npu_tok_s"] = None
    _goodput(result, metrics)
    metrics["token_counts"] = _token_counts(result)
    metrics["percentile_method"] = PERCENTILE_METHOD
    retokenized = result.get("total_output_tokens_retokenized")
    if isinstance(retokenized, int) and retokenized != total_out:
        notes.append(
            f"sglang re-tokenized the generated text to {retokenized} output tokens "
            f"(counted: {total_out})"
        )
    if invocation.notes:
        notes.append(invocation.notes)
    return {
        "name": name,
        "workload": _workload(result, invocation, sent),
        "driver": {
            "name": DRIVER_NAME,
            "version": invocation.version,
            "command": list(invocation.argv),
            "as_written": invocation.as_written,
        },
        "records": {
            "path": invocation.records_path,
            "sha256": invocation.records_sha256,
            "count": len(details["errors"]) if details else None,
            "format": RECORDS_FORMAT,
        },
        "metrics": metrics,
        "notes": "; ".join(notes),
    }


def _own_summary(result: dict[str, Any]) -> str:
    """sglang's own means, for a reader comparing with its console output."""
    parts = []
    for key, label in (
        ("mean_ttft_ms", "TTFT"),
        ("mean_tpot_ms", "TPOT"),
        ("mean_e2e_latency_ms", "E2E"),
    ):
        value = _number(result, key)
        if value is not None:
            parts.append(f"{label} {value:.3f} ms")
    if not parts:
        return ""
    return "; sglang.bench_serving's own means (E2E and TPOT to its last line read): " + ", ".join(
        parts
    )


def _workload(result: dict[str, Any], inv: Invocation, sent: int) -> dict[str, Any]:
    dataset = str(result.get("dataset_name") or "sharegpt")
    is_random = dataset.startswith("random")
    input_len = result.get("random_input_len") if is_random else None
    output_len = result.get("random_output_len") if is_random else result.get("sharegpt_output_len")
    if dataset == "generated-shared-prefix" and inv.gsp:  # not in the output line: as asked
        output_len = inv.gsp.get("gsp_output_len")
    ratio = _number(result, "random_range_ratio") if is_random else None
    if dataset == "generated-shared-prefix":  # fixed lengths unless --gsp-range-ratio
        argv = list(inv.argv)
        flag = "--gsp-range-ratio"
        ratio = float(argv[argv.index(flag) + 1]) if flag in argv[:-1] else 1.0
    backend = str(result.get("backend") or "sglang")
    conc = result.get("max_concurrency")
    out = {
        "dataset": dataset,
        "dataset_path": inv.dataset_path,
        "dataset_sha256": inv.dataset_sha256,
        "input_len": input_len if isinstance(input_len, int) else None,
        "output_len": output_len if isinstance(output_len, int) else None,
        "range_ratio": ratio,
        "num_prompts": sent,
        "max_concurrency": conc if isinstance(conc, int) and conc > 0 else None,
        "request_rate_rps": _number(result, "request_rate"),
        "burstiness": None,
        "warmup_requests": inv.warmup_requests,
        "seed": inv.seed,
        "api": BACKEND_API.get(backend, "completions"),
        "ignore_eos": BACKEND_API.get(backend) != "chat" and "--disable-ignore-eos" not in inv.argv,
        "stream": True,
        "timeout_s": SGLANG_REQUEST_TIMEOUT_S,
        "tokenizer": inv.tokenizer,
        "prompt_description": None,
        "notes": None if is_random else _dataset_note(dataset),
    }
    if dataset == "generated-shared-prefix" and inv.gsp:
        out.update(inv.gsp)
    return out


def _dataset_note(dataset: str) -> str:
    if dataset == "generated-shared-prefix":
        return (
            "sglang.bench_serving's generated-shared-prefix: system prompts and questions of "
            "random token ids of the vocabulary (lengths approximate after decoding), "
            "shuffled across groups; N_in counted with its tokenizer"
        )
    return "ShareGPT conversations: prompt and output lengths come from the dataset"


def _token_counts(result: dict[str, Any]) -> dict[str, Any]:
    """sglang counts N_in with its tokenizer (ShareGPT) or takes the drawn length (random);
    N_out comes from the server's meta_info on /generate, and from the requested length on
    the OpenAI APIs, since sglang.bench_serving never asks for usage in a stream."""
    dataset = str(result.get("dataset_name") or "sharegpt")
    api = BACKEND_API.get(str(result.get("backend") or "sglang"), "completions")
    return {
        "input_source": "requested" if dataset.startswith("random") else "tokenizer",
        "output_source": "server_usage" if api == "generate" else "requested",
        "requests_with_mismatch": None,
        "output_tokens_mismatch": None,
        "input_tokens_mismatch": None,
    }


def _goodput(result: dict[str, Any], metrics: dict[str, Any]) -> None:
    slos = result.get("goodput_slos_ms")
    goodput = _number(result, "request_goodput")
    if isinstance(slos, dict) and goodput is not None:
        metrics["goodput_rps"] = goodput
        metrics["slo"] = {
            "ttft_ms": slos.get("ttft"),
            "tpot_ms": slos.get("tpot"),
            "e2e_ms": slos.get("e2el"),
        }
    else:
        metrics["goodput_rps"] = None
        metrics["slo"] = None
