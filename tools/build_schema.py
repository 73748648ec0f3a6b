"""Writes schema/result.schema.json. The schema is data; this script only keeps it readable.

Run: python tools/build_schema.py   (writes schema/result.schema.json and schema/README.md,
then the package's copy bench/validate/result.schema.json through tools/sync_package_data.py;
the test suite checks all three are current)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_VERSION = "1.0"


def num(desc: str, minimum: float | None = 0) -> dict:
    d: dict = {"type": "number", "description": desc}
    if minimum is not None:
        d["minimum"] = minimum
    return d


def nnum(desc: str, minimum: float | None = 0) -> dict:
    d = num(desc, minimum)
    d["type"] = ["number", "null"]
    return d


def integer(desc: str, minimum: int | None = 0) -> dict:
    d: dict = {"type": "integer", "description": desc}
    if minimum is not None:
        d["minimum"] = minimum
    return d


def nint(desc: str, minimum: int | None = 0) -> dict:
    d = integer(desc, minimum)
    d["type"] = ["integer", "null"]
    return d


def string(desc: str, **extra) -> dict:
    return {"type": "string", "description": desc, **extra}


def nstr(desc: str, **extra) -> dict:
    return {"type": ["string", "null"], "description": desc, **extra}


def nbool(desc: str) -> dict:
    return {"type": ["boolean", "null"], "description": desc}


def obj(desc: str, props: dict, required: list[str] | None = None, closed: bool = True) -> dict:
    d: dict = {"type": "object", "description": desc, "properties": props}
    if required:
        d["required"] = required
    if closed:
        d["additionalProperties"] = False
    return d


def nullable_ref(name: str, desc: str) -> dict:
    return {"description": desc, "anyOf": [{"$ref": f"#/$defs/{name}"}, {"type": "null"}]}


STATS = obj(
    "Summary statistics of one latency metric over the requests of a run, in the unit named by "
    "the key that holds this object. Percentiles use linear interpolation between closest ranks "
    "(numpy's default). Every field is optional so a `reported` document can hold only the "
    "figures its source gives; the validator requires all of them for measured and simulated runs.",
    {
        "mean": num("Arithmetic mean."),
        "median": num("50th percentile."),
        "p90": num("90th percentile."),
        "p99": num("99th percentile."),
        "std": num("Population standard deviation."),
        "min": num("Smallest value."),
        "max": num("Largest value."),
        "count": integer("Number of values summarised (requests, or gaps for ITL)."),
    },
)

# The same summary for a quantity that may be negative (schedule lag: a request sent early).
SIGNED_STATS = obj(
    "Summary statistics of a quantity that may be negative; otherwise as `stats`.",
    {
        key: (num(prop["description"], None) if key not in ("std", "count") else prop)
        for key, prop in STATS["properties"].items()
    },
)

WORKLOAD = obj(
    "Everything needed to send the same requests again.",
    {
        "dataset": string(
            "Where prompts come from: `random` (exact token lengths built with the tokenizer), "
            "`random-ids`, `sharegpt` (a ShareGPT-format JSON file), `fixed-prompt` (one prompt "
            "sent repeatedly), `generated-shared-prefix` (groups of prompts sharing a system "
            "prompt) or `multi-turn` (conversations replayed turn by turn)."
        ),
        "dataset_path": nstr("Local path of the dataset file, when one was used."),
        "dataset_sha256": nstr("sha256 of the dataset file.", pattern="^[0-9a-f]{64}$"),
        "input_len": nint("Requested prompt length in tokens (upper bound when range_ratio < 1)."),
        "output_len": nint("Requested output length in tokens (max_tokens)."),
        "range_ratio": nnum(
            "SGLang's --random-range-ratio: lengths uniform in [ratio x len, len]; "
            "1.0 = fixed length.",
        ),
        "num_prompts": integer("Measured requests (warm-up excluded).", 1),
        "max_concurrency": nint("Cap on requests in flight; null = no cap.", 1),
        "request_rate_rps": nnum(
            "Requested Poisson arrival rate; null = infinite (all sent at once)."
        ),
        "burstiness": nnum("Gamma shape of inter-arrival times; 1.0 = Poisson."),
        "warmup_requests": integer(
            "Requests sent before the measured window and excluded from it."
        ),
        "seed": nint("Seed of every random choice (prompt lengths, token ids, arrival times)."),
        "api": string("Endpoint family used.", enum=["chat", "completions", "generate"]),
        "ignore_eos": nbool("Whether generation was forced to output_len (ignore_eos)."),
        "stream": nbool("Whether responses were streamed."),
        "timeout_s": nnum("Per-request timeout."),
        "tokenizer": nstr("Tokenizer used to build and count prompts (path or model id)."),
        "prompt_description": nstr(
            "How the prompt was built, in words (for fixed-prompt workloads)."
        ),
        "notes": nstr("Anything about the workload a reader must know."),
        "gsp_num_groups": integer(
            "`generated-shared-prefix`: groups, each with one system prompt.", 1
        ),
        "gsp_prompts_per_group": integer("`generated-shared-prefix`: prompts per group.", 1),
        "gsp_system_prompt_len": integer(
            "`generated-shared-prefix`: system prompt tokens (upper bound when range_ratio < 1).",
            1,
        ),
        "gsp_question_len": integer(
            "`generated-shared-prefix`: question tokens (upper bound when range_ratio < 1).", 1
        ),
        "gsp_output_len": integer(
            "`generated-shared-prefix`: max_tokens per request (= output_len).", 1
        ),
        "mt_num_conversations": integer("`multi-turn`: conversations replayed.", 1),
        "mt_num_turns": integer("`multi-turn`: turns replayed per conversation.", 1),
        "mt_user_len": integer(
            "`multi-turn` without a dataset file: tokens of each user turn (upper bound when "
            "range_ratio < 1).",
            1,
        ),
    },
    required=["dataset", "num_prompts"],
)

DRIVER = obj(
    "The program that sent the requests and measured them.",
    {
        "name": string("`bench.loadgen`, `bench.latency` or `sglang.bench_serving`."),
        "version": nstr(
            "Version of the driver (the kit's version, or the sglang package version)."
        ),
        "command": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "The exact argv that was run, when the driver is an external program.",
        },
        "as_written": nbool(
            "True when the command reproduces a publication's command exactly as written, "
            "even where that differs from what the publication meant."
        ),
        "workers": integer(
            "`bench.loadgen` only: client processes that sent the requests, each with its own "
            "event loop, on one schedule (`--workers`, a profile's `workers`). A client "
            "setting, not part of the workload: the server sees the same requests whatever "
            "it is. Fewer than asked when the concurrency cap or the requests are fewer.",
            minimum=1,
        ),
    },
    required=["name"],
)

RECORDS = obj(
    "The raw per-request records of a run (JSON Lines), so anyone can recompute the metrics.",
    {
        "path": nstr("Path of the records file, relative to the result document when possible."),
        "sha256": nstr("sha256 of the records file as written.", pattern="^[0-9a-f]{64}$"),
        "count": nint("Number of records in the file (warm-up included, marked as such)."),
        "format": nstr(
            "Records format: `bench-records-v1` or `sglang-bench-serving-jsonl` (runs), "
            "`bench-sanity-records-v1` (the sanity check: one line per question)."
        ),
    },
)

TOKEN_COUNTS = obj(
    "Where token counts came from, and how much client and server disagree.",
    {
        "input_source": string(
            "Source of N_in.", enum=["server_usage", "tokenizer", "requested", "mixed", "unknown"]
        ),
        "output_source": string(
            "Source of N_out.", enum=["server_usage", "tokenizer", "requested", "mixed", "unknown"]
        ),
        "requests_with_mismatch": nint(
            "Requests where the server's usage and the client's tokenizer count differ."
        ),
        "output_tokens_mismatch": nint("Sum over requests of |server N_out - client N_out|."),
        "input_tokens_mismatch": nint("Sum over requests of |server N_in - client N_in|."),
    },
    required=["input_source", "output_source"],
)

DELIVERY = obj(
    "How the replies reached the client. The client stamps every chunk of one read of the "
    "connection with that read's time, so a reply the server (or a proxy in front of it) wrote "
    "in one piece has all its chunks at one time: its TPOT is 0 and its ITL gaps are 0, and "
    "they describe delivery, not generation.",
    {
        "single_read_requests": integer(
            "Completed requests with N_out > 1 whose content chunks all arrived in one read "
            "(of the `tpot_ms.count` requests TPOT applies to)."
        ),
        "tokens_per_read": {
            "description": "Output tokens carried by each read that brought content, over "
            "every completed request (the unit is tokens). 1 for a server that streams token "
            "by token and a client that keeps up; N_out for a reply written in one piece.",
            "anyOf": [{"$ref": "#/$defs/stats"}, {"type": "null"}],
        },
    },
    required=["single_read_requests", "tokens_per_read"],
)

PER_TURN = obj(
    "One turn index of a multi-turn run: its completed requests and their figures.",
    {
        "turn": integer("Turn index within each conversation (0 = the first)."),
        "requests_completed": integer("Completed requests of this turn."),
        "ttft_ms": nullable_ref("stats", "TTFT of this turn's completed requests."),
        "input_tokens": integer("Sum of N_in over this turn's completed requests."),
        "cached_prompt_tokens": nint(
            "Prompt tokens the server took from its prefix cache for this turn's requests; "
            "null when the run reports none."
        ),
        "prefix_cache_hit_rate": {
            **nnum("cached_prompt_tokens / input_tokens (0..1)."),
            "maximum": 1,
        },
    },
    required=["turn", "requests_completed", "input_tokens"],
)

RUN_METRICS = obj(
    "What the run measured. Throughputs are over the measured window: first send to last finish, "
    "warm-up excluded. Measured and simulated runs must give `duration_s` and the three request "
    "counts, and every statistic of each latency summary (see `measured_run`).",
    {
        "duration_s": num("Measured window: first send to last finish."),
        "requests_sent": integer("Requests sent in the measured window."),
        "requests_completed": integer("Requests that finished without error."),
        "requests_failed": integer("Requests that ended in an error."),
        "failures": {
            "type": "object",
            "description": "Failed requests grouped by kind (http_4xx, http_5xx, timeout, "
            "stream_cut, connection, malformed, ...).",
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "total_input_tokens": integer("Sum of N_in over completed requests."),
        "total_output_tokens": integer("Sum of N_out over completed requests."),
        "request_throughput_rps": num("Completed requests / duration_s."),
        "input_throughput_tok_s": num("total_input_tokens / duration_s."),
        "output_throughput_tok_s": num("total_output_tokens / duration_s."),
        "total_throughput_tok_s": num("(total_input_tokens + total_output_tokens) / duration_s."),
        "achieved_concurrency": nnum("Sum of E2E latency / duration_s (Little's law)."),
        "requested_rate_rps": nnum("The rate the schedule asked for; null = infinite."),
        "achieved_rate_rps": nnum("Requests actually sent per second of the sending window."),
        "schedule_lag_ms": {
            "description": "How late each request was sent against its scheduled time "
            "(negative: early, within the event loop's timer resolution).",
            "anyOf": [{"$ref": "#/$defs/signed_stats"}, {"type": "null"}],
        },
        "ttft_ms": {"$ref": "#/$defs/stats", "description": "Time to first token."},
        "tpot_ms": {
            "$ref": "#/$defs/stats",
            "description": "Time per output token, (E2E - TTFT) / (N_out - 1) per request.",
        },
        "itl_ms": {"$ref": "#/$defs/stats", "description": "Inter-token latency."},
        "e2e_ms": {"$ref": "#/$defs/stats", "description": "End-to-end request latency."},
        "tpot_excluded_requests": nint("Completed requests left out of TPOT because N_out <= 1."),
        "interactivity_tok_s": nnum("1000 / median TPOT in ms: tokens/s one user sees."),
        "output_throughput_per_npu_tok_s": nnum("output_throughput_tok_s / accelerator count."),
        "goodput_rps": nnum("Completed requests meeting every SLO in `slo`, per second."),
        "slo": {
            "type": ["object", "null"],
            "description": "The SLOs goodput was judged against.",
            "properties": {
                "ttft_ms": nnum("Maximum TTFT."),
                "tpot_ms": nnum("Maximum TPOT."),
                "e2e_ms": nnum("Maximum E2E latency."),
            },
            "additionalProperties": False,
        },
        "token_counts": {"$ref": "#/$defs/token_counts"},
        "delivery": {"$ref": "#/$defs/delivery"},
        "cached_prompt_tokens": nint(
            "Prompt tokens the server says it took from its prefix cache, summed over completed "
            "requests (usage.prompt_tokens_details.cached_tokens, or llama.cpp's "
            "timings.cache_n); null when no request reported any."
        ),
        "prefix_cache_hit_rate": {
            **nnum("cached_prompt_tokens / total_input_tokens (0..1); null when not reported."),
            "maximum": 1,
        },
        "ttft_first_of_group_ms": {
            "$ref": "#/$defs/stats",
            "description": "TTFT of the first request sent of each shared-prefix group or "
            "conversation (it found no prefix of its group cached).",
        },
        "ttft_rest_of_group_ms": {
            "$ref": "#/$defs/stats",
            "description": "TTFT of every other request of a group or conversation.",
        },
        "per_turn": {
            "type": "array",
            "items": {"$ref": "#/$defs/per_turn"},
            "description": "Multi-turn runs: figures per turn index, in order.",
        },
        "percentile_method": nstr("How percentiles were computed."),
    },
    # Required only for measured and simulated documents (see MEASURED_RUN): a `reported`
    # document holds only the figures its publication gives.
)

RUN_METRICS_REQUIRED = ["duration_s", "requests_sent", "requests_completed", "requests_failed"]
FULL_STATS = ["mean", "median", "p90", "p99", "std", "min", "max", "count"]

# Applied to every run of a `measured` or `simulated` document (see SCHEMA's allOf).
MEASURED_RUN = {
    "description": "What a measured or simulated run must hold beyond `run`: the window and "
    "request counts, and every statistic of each latency summary it gives.",
    "properties": {
        "metrics": {
            "required": RUN_METRICS_REQUIRED,
            "properties": {
                key: {"required": FULL_STATS}
                for key in (
                    "ttft_ms",
                    "tpot_ms",
                    "itl_ms",
                    "e2e_ms",
                    "schedule_lag_ms",
                    "ttft_first_of_group_ms",
                    "ttft_rest_of_group_ms",
                )
            },
        }
    },
}

# --- telemetry (docs/telemetry.md): optional on every run ----------------------------------
TIMELINE = obj(
    "A telemetry timeline file beside the records (JSON Lines, one sample per line, `t_ns` on "
    "the records' clock).",
    {
        "path": string("Path of the timeline, relative to the result document when possible."),
        "sha256": string("sha256 of the file as written.", pattern="^[0-9a-f]{64}$"),
        "count": integer("Samples (lines) in the file."),
        "format": string("Timeline format: `bench-telemetry-v1`."),
    },
    required=["path", "sha256", "count", "format"],
)


def _plot_line(desc: str) -> dict:
    return obj(
        desc,
        {
            "t_s": {
                "type": "array",
                "items": {"type": "number"},
                "description": "Seconds from the measured window's start (negative: before it).",
            },
            "values": {"type": "array", "items": {"type": "number"}, "description": "Values."},
        },
        required=["t_s", "values"],
    )


PLOT_LINE = _plot_line("One line of a plot: points in time order.")


def _series(desc: str, keys: dict[str, str]) -> dict:
    line = {k: nullable_ref("plot_line", d) for k, d in keys.items()}
    return {"description": desc, "anyOf": [obj(desc, line), {"type": "null"}]}


def _nstats(desc: str) -> dict:
    return nullable_ref("stats", desc)


TELEMETRY = obj(
    "The NPUs, sampled with npu-smi while the run was measured. Statistics are over the samples "
    "inside the measured window (or the two around it when it is shorter than the interval).",
    {
        "source": string(
            "`npu-smi` (the driver's tool) or `simulated` (`bench sim --npu-smi-dir`).",
            enum=["npu-smi", "simulated"],
        ),
        "program": string("The npu-smi that was run (`--npu-smi`)."),
        "interval_s": num("Sampling interval."),
        "started_utc": nstr("When sampling began, for humans.", format="date-time"),
        "started_ns": nint("When sampling began, on the records' clock (perf_counter_ns)."),
        "npus": {
            "type": "array",
            "description": "The NPUs sampled.",
            "items": obj(
                "One sampled NPU.",
                {
                    "index": integer("NPU id as npu-smi numbers it."),
                    "name": nstr("Chip name as npu-smi prints it."),
                    "hbm_capacity_mib": nnum("HBM capacity of this NPU."),
                },
                required=["index"],
            ),
        },
        "npu_selection": nstr("Which rule chose the NPUs."),
        "sample_count": integer("Samples taken (the timeline's lines)."),
        "window_sample_count": integer("Samples inside the measured window."),
        "gaps": integer("Spacings between samples longer than 1.5 intervals."),
        "max_gap_s": nnum("Longest spacing between consecutive samples."),
        "power_w": _nstats("Power, summed over the sampled NPUs, per sample."),
        "hbm_used_mib": _nstats("HBM in use on the fullest sampled NPU, per sample."),
        "aicore_util_pct": _nstats("AI Core utilisation, mean over the sampled NPUs."),
        "temperature_c": _nstats("Temperature of the hottest sampled NPU."),
        "energy_j": nnum(
            "Trapezoidal integral of power over the measured window, interpolated at its edges; "
            "null when a gap exceeds 3 intervals (energy_note says why)."
        ),
        "energy_note": nstr("Why energy_j is null."),
        "energy_per_output_token_j": nnum("energy_j / total_output_tokens."),
        "series": _series(
            "The timeline thinned for the report's plot (at most 240 points per line).",
            {
                "power_w": "Power, W.",
                "hbm_used_mib": "HBM in use, MiB.",
                "aicore_util_pct": "AI Core utilisation, %.",
            },
        ),
        "failed_reads": integer("Samples npu-smi could not give."),
        "timeline": nullable_ref("timeline", "The full timeline beside the records."),
        "reason": nstr("Why there are no samples (npu-smi missing, unparsable, ...)."),
        "notes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What a reader must know about these figures.",
        },
    },
    required=["source", "interval_s", "sample_count", "energy_j"],
)

SERVER_METRICS = obj(
    "The server's own Prometheus counters over the measured window (scraped when it opened and "
    "closed, and every interval between), mapped onto one set of names for every engine.",
    {
        "engine": nstr("Whose metric names were found: `sglang`, `vllm` or `llama.cpp`."),
        "url": string("The /metrics URL scraped."),
        "interval_s": num("Scrape interval between the window's edges."),
        "window": nstr(
            "`measured` (scrapes at the window's edges) or `whole_run` (first to last scrape: "
            "the driver's warm-up is inside).",
            enum=["measured", "whole_run", None],
        ),
        "sample_count": integer("Scrapes taken."),
        "prompt_tokens": nint("Prompt tokens the server counted in the window."),
        "generation_tokens": nint("Generated tokens the server counted in the window."),
        "requests": nint("Requests the server counted as finished in the window."),
        "aborted_requests": nint("Requests the server counted as aborted in the window."),
        "cached_tokens": nint("Prompt tokens served from the server's prefix cache."),
        "cache_hit_rate": nnum("cached_tokens / prompt tokens looked up, over the window."),
        "mean_ttft_ms": nnum("The server's mean TTFT over the window (histogram sum / count)."),
        "mean_e2e_ms": nnum("The server's mean end-to-end latency over the window."),
        "peak_running_requests": nnum("Most requests running at a scrape."),
        "peak_queued_requests": nnum("Most requests queued at a scrape."),
        "peak_kv_usage": nnum("Highest KV-cache usage at a scrape (fraction, 1 = full)."),
        "failed_reads": integer("Scrapes that failed."),
        "series": _series(
            "Running and queued requests per scrape, for the report's plot.",
            {"running": "Running requests.", "queued": "Queued requests."},
        ),
        "timeline": nullable_ref("timeline", "Every scrape, beside the records."),
        "reason": nstr("Why there are no deltas (/metrics missing, unknown engine, ...)."),
        "notes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What each counter counts on this engine, and anything odd.",
        },
    },
    required=["url", "sample_count", "prompt_tokens", "generation_tokens"],
)

RUN = obj(
    "One measured run: a workload, the driver that ran it, its raw records and its metrics.",
    {
        "name": string("Short identifier, unique within the document (e.g. `throughput-512-256`)."),
        "started_utc": nstr("Wall-clock start, for humans.", format="date-time"),
        "workload": {"$ref": "#/$defs/workload"},
        "workload_as_described": {
            "$ref": "#/$defs/workload",
            "description": "For `reported` documents: the workload as the publication's prose "
            "describes it, when its commands (`workload`) define something else. The validator "
            "checks the figures against both and names every field where they differ.",
        },
        "driver": {"$ref": "#/$defs/driver"},
        "records": nullable_ref("records", "The raw records behind the metrics."),
        "metrics": {"$ref": "#/$defs/run_metrics"},
        "notes": nstr("Anything about the run a reader must know."),
        "telemetry": {"$ref": "#/$defs/telemetry"},
        "server_metrics": {"$ref": "#/$defs/server_metrics"},
    },
    required=["name", "workload", "driver", "metrics"],
)

NPU = obj(
    "One accelerator as `npu-smi info` shows it.",
    {
        "index": integer("NPU index."),
        "name": nstr("Chip name as npu-smi prints it (e.g. `910B3`)."),
        "hbm_used_mib": nint("HBM in use."),
        "hbm_total_mib": nint("HBM capacity."),
        "chip": nint("Chip id within the NPU (Atlas A3 boards carry two chips per NPU id)."),
    },
    required=["index"],
)

RANK_MEMORY = obj(
    "Memory of one tensor-parallel rank, from the server log.",
    {
        "rank": integer("Tensor-parallel rank."),
        "dp_rank": nint(
            "Data-parallel replica the rank belongs to (its `DPn` log tag; null with one replica)."
        ),
        "weights_gib": nnum("Weights loaded on this rank (`mem usage` of `Load weight end.`)."),
        "avail_after_weights_gib": nnum("`avail mem` after loading weights."),
        "kv_cache_gib": nnum("K + V cache allocated on this rank."),
        "kv_tokens": nint("Token capacity of the KV pool."),
    },
    required=["rank"],
)

RECONCILIATION = obj(
    "One comparison of a measured memory figure with what the model or settings imply.",
    {
        "what": string("What is compared."),
        "measured_gib": nnum("Measured value.", None),
        "expected_gib": nnum("Expected value.", None),
        "diff_gib": nnum("measured - expected.", None),
        "diff_pct": nnum("100 x diff / expected.", None),
    },
    required=["what"],
)

MEMORY = obj(
    "Device memory of the server. Figures are per NPU (per tensor-parallel rank; the largest rank "
    "when they differ). SGLang logs say `GB` but mean GiB (2^30 bytes).",
    {
        "weights_gib": nnum("Model weights resident on one NPU."),
        "kv_cache_gib": nnum("KV cache pool on one NPU (K + V)."),
        "kv_tokens": nint("Token capacity of the KV pool (max_total_num_tokens)."),
        "kv_bytes_per_token": nint(
            "Measured KV bytes per token (kv_cache bytes / kv_tokens) per NPU."
        ),
        "expected_weights_gib": nnum("parameters x dtype bytes (or safetensors total_size) / TP."),
        "expected_kv_bytes_per_token": nint(
            "2 x layers x kv_heads x head_dim x dtype bytes, divided by TP "
            "for the KV heads it holds."
        ),
        "hbm_capacity_gib": nnum("HBM capacity of one NPU."),
        "mem_fraction_static": nnum("The server's mem_fraction_static, when known."),
        "per_rank": {
            "type": "array",
            "items": {"$ref": "#/$defs/rank_memory"},
            "description": "One entry per tensor-parallel rank found in the log.",
        },
        "npus": {
            "type": "array",
            "items": {"$ref": "#/$defs/npu"},
            "description": "NPUs as `npu-smi info` showed them while the server ran.",
        },
        "sources": {
            "type": "object",
            "description": "For each figure, which input gave it (`server_log`, `npu_smi`, "
            "`server_info`, `model_config`, `reported`).",
            "additionalProperties": {"type": "string"},
        },
        "reconciliation": {
            "type": "array",
            "items": {"$ref": "#/$defs/reconciliation"},
            "description": "Each memory figure beside what the model and settings imply.",
        },
        "notes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What a reader must know about these figures (missing inputs, "
            "approximations, more than one KV pool), one line each.",
        },
    },
)

ACCURACY = obj(
    "The client's own measurement error against the simulator's ground truth (`bench selftest`), "
    "run on the same client host.",
    {
        "concurrencies": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "description": "Concurrency levels tested.",
        },
        "ttft_abs_error_ms": {"$ref": "#/$defs/stats", "description": "|measured - true| TTFT."},
        "tpot_abs_error_ms": {"$ref": "#/$defs/stats", "description": "|measured - true| TPOT."},
        "output_tokens_exact": {
            "type": "boolean",
            "description": "Every N_out equalled the ground truth.",
        },
        "requests_compared": integer("Requests compared with ground truth."),
        "simulator_speed": nnum("The simulator's --speed during the self-test."),
        "tpot_abs_error_pct": {
            "$ref": "#/$defs/stats",
            "description": "|measured - true| / true TPOT, in percent.",
        },
        "client_send_overhead_ms": {
            "$ref": "#/$defs/stats",
            "description": "From the client deciding to send to the request's last byte written "
            "to the socket. Not part of TTFT (which starts at the write); shown so a reader can "
            "judge the client host.",
        },
        "server_arrival_lag_ms": {
            "$ref": "#/$defs/stats",
            "description": "Simulator arrival stamp - request written: how long requests waited "
            "in the simulator's HTTP layer before its handler stamped them. Real latency the "
            "server adds (part of the true TTFT), not client error; shown so a reader can judge.",
        },
        "per_concurrency": {
            "type": "array",
            "description": "The same comparison at each concurrency level.",
            "items": obj(
                "One concurrency level of the self-test.",
                {
                    "concurrency": integer("Requests in flight."),
                    "requests_compared": integer("Requests compared with ground truth."),
                    "ttft_abs_error_ms": {"$ref": "#/$defs/stats", "description": "|TTFT error|."},
                    "tpot_abs_error_ms": {"$ref": "#/$defs/stats", "description": "|TPOT error|."},
                    "tpot_abs_error_pct": {
                        "$ref": "#/$defs/stats",
                        "description": "|TPOT error| in percent of the true TPOT.",
                    },
                    "output_tokens_exact": {
                        "type": "boolean",
                        "description": "Every N_out equalled the ground truth.",
                    },
                },
                required=["concurrency"],
            ),
        },
        "workload": nstr("The self-test's workload, in words."),
    },
)

SANITY = obj(
    "A check that the server's answers are right, beside its speed (`bench sanity`, a "
    "profile's `[[sanity]]` entry): seeded multi-digit arithmetic questions with exact integer "
    "answers, asked one at a time at temperature 0 after the measured runs. A measured or "
    "simulated document whose `accuracy` is below its `min_accuracy` is invalid: fast garbage "
    "is not ranked. See docs/sanity.md for the questions and the scoring rule.",
    {
        "name": nstr("Name of the check (its records file is named after it)."),
        "started_utc": nstr("Wall-clock start, for humans.", format="date-time"),
        "questions": integer("Questions asked.", 1),
        "correct": integer("Questions answered right."),
        "accuracy": {**num("correct / questions (0 to 1)."), "maximum": 1},
        "min_accuracy": {
            **num("Accuracy below which the result is invalid (0 to 1; default 0.8)."),
            "maximum": 1,
        },
        "failed_requests": nint(
            "Questions whose request failed (timeout, HTTP error, no connection); each is "
            "counted wrong, its reason in the records."
        ),
        "generator": nstr(
            "Version of the question generator and scoring rule (`bench-sanity-v1`); the "
            "validator regenerates and rescores records of the version it knows."
        ),
        "seed": nint("Seed of the questions."),
        "api": string("Endpoint family the questions went through.", enum=["chat", "completions"]),
        "model": nstr("Model name the requests carried."),
        "max_tokens": nint("max_tokens of every question.", 1),
        "timeout_s": nnum("Per-question timeout."),
        "records": nullable_ref(
            "records", "Per-question records: question, expected answer, reply, verdict, reason."
        ),
        "notes": nstr("Anything about the check a reader must know."),
    },
    required=["questions", "correct", "accuracy", "min_accuracy"],
)

CITATION = obj(
    "Where a `reported` document's numbers come from.",
    {
        "title": string("Title as published."),
        "url": nstr("Where it was published."),
        "publisher": nstr("Site or venue."),
        "platform": nstr("Platform as the publication names it."),
        "date": nstr("Publication date as given (may be partial or absent)."),
        "language": nstr("Language of the publication (BCP 47)."),
        "figures": {
            "type": "array",
            "description": "Every figure transcribed, with the words the publication used.",
            "items": obj(
                "One transcribed figure.",
                {
                    "pointer": string("JSON pointer of the value in this document."),
                    "as_stated": string("The publication's words, verbatim."),
                    "section": nstr("Section of the publication."),
                },
                required=["pointer", "as_stated"],
            ),
        },
        "discrepancies": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What the publication's text gets wrong or leaves out, "
            "in one line each.",
        },
    },
    required=["title"],
)

_ACCELERATOR = {
    "name": nstr("Chip name as `npu-smi` names it (e.g. `910B3`), or GPU name."),
    "count": nint("Accelerators used by the server."),
    "hbm_capacity_gib": nnum("HBM of one accelerator."),
    "driver_version": nstr("NPU driver version."),
    "firmware_version": nstr("NPU firmware version."),
}
_HOST = {
    "cpu_model": nstr("CPU model name."),
    "cpu_count": nint("Logical CPUs."),
    "memory_gib": nnum("Host memory."),
    "os": nstr("OS name and version."),
    "kernel": nstr("Kernel release."),
    "architecture": nstr("Machine architecture (`aarch64`, `x86_64`)."),
}
NODE = obj(
    "One node of a multi-node server, from `bench env --json` run on it (`bench run "
    "--node-env RANK=FILE`).",
    {
        "node_rank": integer("The node's `--node-rank`."),
        "source": string("The capture file it was read from."),
        "product": nstr("Server product of the node."),
        "accelerator": obj(
            "The node's accelerators as npu-smi there listed them (`count`: every NPU it saw).",
            _ACCELERATOR,
        ),
        "host": obj("The node's host machine (empty when the capture had none).", _HOST),
    },
    required=["node_rank", "source", "accelerator"],
)

SYSTEM = obj(
    "The hardware and OS the server ran on.",
    {
        "product": nstr("Server product (e.g. `Atlas 800T A2`)."),
        "accelerator": obj("The accelerators.", _ACCELERATOR),
        "host": obj("The host machine (of the server for measured runs).", _HOST),
        "nodes": {
            "type": "array",
            "items": {"$ref": "#/$defs/node"},
            "description": "Every node of a multi-node server that a capture was given for, "
            "one entry each (docs/scaling.md).",
        },
        "missing": {
            "type": "object",
            "description": "Fields left null, each with the reason.",
            "additionalProperties": {"type": "string"},
        },
    },
)

SOFTWARE = obj(
    "The software stack.",
    {
        "engine": obj(
            "The serving engine.",
            {
                "name": string("Engine (`sglang`, `vllm`, `vllm-ascend`, `mindie`, `bench-sim`)."),
                "version": nstr("Engine version."),
            },
            required=["name"],
        ),
        "cann_version": nstr("CANN toolkit version."),
        "torch_version": nstr("PyTorch version."),
        "torch_npu_version": nstr("torch_npu version."),
        "python_version": nstr("Python version of the server."),
        "image": obj(
            "The container image the server ran in.",
            {
                "name": nstr("Image reference."),
                "digest": nstr("Content digest (`sha256:...`).", pattern="^sha256:[0-9a-f]{64}$"),
            },
        ),
        "env": {
            "type": "object",
            "description": "Allow-listed environment variables (ASCEND_*, HCCL_*, SGLANG_*, ...), "
            "secrets redacted.",
            "additionalProperties": {"type": "string"},
        },
        "missing": {
            "type": "object",
            "description": "Fields left null, each with the reason.",
            "additionalProperties": {"type": "string"},
        },
    },
    required=["engine"],
)

MODEL = obj(
    "The model served.",
    {
        "id": string("Model id on its hub (e.g. `Qwen/Qwen2-7B-Instruct`)."),
        "source": string(
            "Where the weights came from.", enum=["modelscope", "huggingface", "local", "unknown"]
        ),
        "revision": nstr(
            "Commit or tag the weights were taken at; never `latest` or `master`.", not_={}
        ),
        "dtype": nstr("Weight dtype (`bfloat16`, `float16`, `int8`, ...)."),
        "parameter_count": nint("Parameters."),
        "active_parameter_count": nint(
            "Parameters used per token, when fewer than parameter_count (mixture of experts)."
        ),
        "weight_bytes": nint("Bytes of weights on disk (safetensors total_size)."),
        "num_layers": nint("Transformer layers."),
        "num_kv_heads": nint("Key/value heads."),
        "head_dim": nint("Dimension of one attention head."),
        "hidden_size": nint("Hidden size."),
        "max_position_embeddings": nint("Context length the model was trained for."),
    },
    required=["id"],
)
# `not_` is a placeholder so the helper signature stays simple; replaced below.
MODEL["properties"]["revision"].pop("not_")
MODEL["properties"]["revision"]["not"] = {"enum": ["latest", "master", "main", "HEAD"]}

SERVER = obj(
    "How the server was launched and what it said about itself.",
    {
        "launch_command": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "The server's argv.",
        },
        "args": obj(
            "Launch arguments that matter for performance; others may be added.",
            {
                "tp_size": nint("Tensor parallel size.", 1),
                "dp_size": nint("Data parallel size.", 1),
                "pp_size": nint("Pipeline parallel size.", 1),
                "enable_dp_attention": nbool(
                    "Data-parallel attention: the dp_size groups live inside tp_size NPUs."
                ),
                "nnodes": nint("Nodes the server spans (`--nnodes`).", 1),
                "node_rank": nint("`--node-rank` of the node that answered the self-report."),
                "dist_init_addr": nstr("`--dist-init-addr`: host:port of node rank 0."),
                "mem_fraction_static": nnum("Fraction of device memory for weights + KV pool."),
                "attention_backend": nstr("Attention backend (`ascend` on NPU)."),
                "device": nstr("Device (`npu`, `cuda`, `cpu`)."),
                "max_running_requests": nint("Cap on requests in a batch."),
                "max_total_tokens": nint("Cap on KV pool tokens."),
                "context_length": nint("Maximum context length."),
                "chunked_prefill_size": nint("Chunked prefill size.", None),
                "dtype": nstr("Compute dtype."),
                "quantization": nstr("Quantization method."),
                "disable_cuda_graph": nbool("Graph capture disabled."),
            },
            closed=False,
        ),
        "self_report": {
            "type": ["object", "null"],
            "description": "The server's /get_server_info (or /server_info) response, as received.",
        },
        "max_total_num_tokens": nint("KV pool capacity in tokens the server reported."),
    },
)

PROVENANCE = obj(
    "How the document came to be.",
    {
        "kit_version": string("Version of this kit."),
        "git_commit": nstr("Commit of the kit.", pattern="^[0-9a-f]{7,40}$"),
        "git_dirty": nbool("Whether the kit's work tree had uncommitted changes."),
        "commands": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The exact commands run to produce the document.",
        },
        "profile": {
            "type": ["object", "null"],
            "description": "The resolved workload profile, as run.",
        },
    },
    required=["kit_version"],
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:ascend-bench-kit:schema:result:1.0",
    "title": "LLM serving benchmark result",
    "description": "One benchmark run of an LLM server: what ran, where, how, and what it "
    "measured. Units are in key names (_ms, _s, _tok_s, _rps, _gib, _mib). NaN and "
    "Infinity are not JSON and "
    "are rejected.",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema_version",
        "kind",
        "created_utc",
        "submitter",
        "provenance",
        "system",
        "software",
        "model",
        "server",
        "measurements",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION, "description": "Version of this schema."},
        "kind": string(
            "`measured` (run on real hardware), `simulated` (run against the kit's simulator) or "
            "`reported` (copied from a publication; needs `citation`).",
            enum=["measured", "simulated", "reported"],
        ),
        "created_utc": string("When the document was written (UTC, ISO 8601).", format="date-time"),
        "submitter": obj(
            "Who ran it.",
            {
                "name": string("Name or handle.", minLength=1),
                "contact": nstr("How to reach them."),
                "organization": nstr("Organization, if any."),
            },
            required=["name"],
        ),
        "title": nstr("Short human title."),
        "notes": nstr("Free text from the submitter."),
        "citation": {"$ref": "#/$defs/citation"},
        "provenance": {"$ref": "#/$defs/provenance"},
        "system": {"$ref": "#/$defs/system"},
        "software": {"$ref": "#/$defs/software"},
        "model": {"$ref": "#/$defs/model"},
        "server": {"$ref": "#/$defs/server"},
        "measurements": obj(
            "Everything measured.",
            {
                "throughput": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/run"},
                    "description": "Throughput runs (many requests, concurrency > 1).",
                },
                "latency": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/run"},
                    "description": "Latency runs (one request at a time).",
                },
                "memory": nullable_ref("memory", "Device memory."),
            },
        ),
        "accuracy": nullable_ref(
            "accuracy", "The client's measurement error, from bench selftest."
        ),
        "sanity": nullable_ref(
            "sanity", "Whether the server's answers were right (optional: absent = not checked)."
        ),
    },
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": "reported"}}},
            "then": {"required": ["citation"]},
        },
        {
            "if": {
                "properties": {"kind": {"enum": ["measured", "simulated"]}},
                "required": ["kind"],
            },
            "then": {
                "properties": {
                    "measurements": {
                        "properties": {
                            "throughput": {"items": {"$ref": "#/$defs/measured_run"}},
                            "latency": {"items": {"$ref": "#/$defs/measured_run"}},
                        }
                    }
                }
            },
        },
    ],
    "$defs": {
        "stats": STATS,
        "signed_stats": SIGNED_STATS,
        "workload": WORKLOAD,
        "driver": DRIVER,
        "records": RECORDS,
        "token_counts": TOKEN_COUNTS,
        "delivery": DELIVERY,
        "per_turn": PER_TURN,
        "run_metrics": RUN_METRICS,
        "run": RUN,
        "measured_run": MEASURED_RUN,
        "npu": NPU,
        "rank_memory": RANK_MEMORY,
        "node": NODE,
        "reconciliation": RECONCILIATION,
        "memory": MEMORY,
        "accuracy": ACCURACY,
        "sanity": SANITY,
        "citation": CITATION,
        "system": SYSTEM,
        "software": SOFTWARE,
        "model": MODEL,
        "server": SERVER,
        "provenance": PROVENANCE,
        "timeline": TIMELINE,
        "plot_line": PLOT_LINE,
        "telemetry": TELEMETRY,
        "server_metrics": SERVER_METRICS,
    },
}

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schema" / "result.schema.json"
DOCS = ROOT / "schema" / "README.md"


def render() -> str:
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"


def render_docs() -> str:
    """schema/README.md: every field of the schema, generated (bench.validate.schema_docs)."""
    sys.path.insert(0, str(ROOT))
    from bench.validate.schema_docs import render as render_markdown

    return render_markdown(SCHEMA)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    DOCS.write_text(render_docs(), encoding="utf-8")
    print(f"wrote {OUT} and {DOCS}")
    from sync_package_data import sync  # tools/ is sys.path[0] when run as a script

    for copy in sync():
        print(f"updated {copy.relative_to(ROOT)}")
