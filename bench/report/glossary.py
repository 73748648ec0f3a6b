"""The metric definitions the report ends with.

`METRICS` is the same table as docs/measuring.md's "Metric definitions" (a test checks that
every row agrees, word for word), so the report and the docs cannot drift apart. `REPORT_TERMS`
defines the words the report itself adds (kind, ratios, efficiencies, findings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    metric: str  # as the docs table's first column shows it (Markdown)
    definition: str
    unit: str
    aliases: str  # other tools' names for it


METRICS: tuple[Definition, ...] = (
    Definition(
        "**TTFT**",
        "from the moment the request's last byte is written to the connection to the first "
        "chunk carrying non-empty generated content (text or reasoning). Role-only, empty and "
        "usage-only chunks do not count. The client's own work before the send is recorded "
        "apart (`submit_ns`), not counted.",
        "ms",
        "SGLang/vLLM `ttft`, AIPerf `time_to_first_token`, GuideLLM `time_to_first_token_ms`, "
        "MLPerf TTFT",
    ),
    Definition(
        "**E2E latency**",
        "from send to the last chunk carrying content",
        "ms",
        "SGLang `e2e_latency`, vLLM `e2el`, AIPerf/GuideLLM `request_latency`",
    ),
    Definition(
        "**TPOT**",
        "`(E2E - TTFT) / (N_out - 1)` per request; requests with `N_out <= 1` are excluded "
        "and counted",
        "ms",
        "SGLang/vLLM `tpot`, **AIPerf and GuideLLM `inter_token_latency`**, MLPerf TPOT",
    ),
    Definition(
        "**ITL**",
        "every gap between consecutive content chunks, spread evenly over the tokens of the "
        "later chunk",
        "ms",
        "SGLang/vLLM `itl` (not spread), AIPerf `inter_chunk_latency` (not spread)",
    ),
    Definition(
        "**N_in, N_out**",
        "prompt and output tokens from the server's `usage` (the kit asks for it with "
        "`stream_options.include_usage`); where the server gives none, counted with the "
        "model's tokenizer, and the source is recorded. Where both exist, the mismatch is "
        "reported.",
        "tokens",
        "`prompt_tokens`, `completion_tokens`; AIPerf `input/output_sequence_length`",
    ),
    Definition(
        "**Request throughput**",
        "completed requests / duration of the measured window (first send to last finish, "
        "warm-up excluded)",
        "req/s",
        'SGLang/vLLM `request_throughput`, "RPS"',
    ),
    Definition(
        "**Input / output throughput**",
        "sum of N_in (resp. N_out) / duration",
        "tok/s",
        "SGLang/vLLM `input_throughput`, `output_throughput`; AIPerf `output_token_throughput`",
    ),
    Definition(
        "**Total throughput**",
        "(sum N_in + sum N_out) / duration",
        "tok/s",
        "SGLang `total_throughput`, vLLM `total_token_throughput`",
    ),
    Definition(
        "**Achieved concurrency**",
        "sum of E2E / duration (Little's law)",
        "requests",
        "SGLang `concurrency`",
    ),
    Definition(
        "**Interactivity**",
        "1000 / median TPOT in ms: the token rate one user sees",
        "tok/s/user",
        'NVIDIA "tokens/s/user"',
    ),
    Definition(
        "**Throughput per NPU**",
        "output throughput / accelerators used",
        "tok/s",
        "—",
    ),
    Definition(
        "**Goodput**",
        "completed requests meeting every SLO (TTFT, TPOT, E2E), per second",
        "req/s",
        "vLLM `--goodput`, DistServe",
    ),
    Definition(
        "**Cached prompt tokens, prefix-cache hit rate**",
        "the prompt tokens the server says it took from its prefix cache "
        "(`usage.prompt_tokens_details.cached_tokens`, or llama.cpp's `timings.cache_n`), "
        "summed over completed requests, and that sum / sum N_in. A request without the "
        "field counts 0 when another of the run reports it (SGLang sends it only when it "
        "cached something); null when none does",
        "tokens; fraction",
        "SGLang `cached_tokens`, `sglang:cache_hit_rate`; vLLM prefix cache hit rate",
    ),
    Definition(
        "**TTFT, first of group and rest**",
        "TTFT of each shared-prefix group's (or conversation's) first request sent, and of "
        "every other one: a cache miss against the hits",
        "ms",
        "—",
    ),
    Definition(
        "**Per turn**",
        "for each turn index of a conversation: completed requests, TTFT, N_in and cached "
        "prompt tokens",
        "ms; tokens",
        "—",
    ),
    Definition(
        "**Delivery**",
        "how the replies reached the client: `single_read_requests`, the replies (N_out > 1) "
        "whose content chunks all arrived in one read of the connection, and "
        "`tokens_per_read`, the tokens each read brought (the client stamps every chunk of "
        "one read with one time). A server or proxy that writes a whole reply at once gives "
        "it a TPOT and ITL of 0, which then describe delivery, not generation",
        "requests; tokens",
        "—",
    ),
)

STATS_NOTE = (
    "Each latency is summarised by mean, median, p90, p99, std (population), min, max and "
    "count; percentiles interpolate linearly between closest ranks (numpy's default)."
)

REPORT_TERMS: tuple[tuple[str, str], ...] = (
    (
        "kind",
        "`measured`: run by the submitter on the hardware named. `simulated`: run against the "
        "kit's simulator; its numbers describe the simulator's model, not hardware "
        "(`simulated ×F speed`: run F times faster than real time, so throughputs are F times "
        "and latencies 1/F of what the simulated hardware would give). "
        "`reported`: copied from a publication (the citation is in the details), not re-run. "
        "Only measured results are ranked.",
    ),
    (
        "ok/sent",
        "requests that completed without error, of the requests sent in the measured window.",
    ),
    (
        "÷ article",
        "the result's headline figure divided by the article's reported one for a run of the "
        "same kind (throughput: output tok/s, higher is better; latency: median TPOT, lower "
        "is better). Where the workloads differ, the differing settings are listed beside it.",
    ),
    (
        "÷ best measured",
        "the same headline figure divided by the best valid measured result of the same "
        "setting (model, hardware, engine and workload).",
    ),
    (
        "decode / prefill efficiency",
        "from `bench roofline`: the share of the hardware's physical limit the result reaches "
        "(decode against HBM bandwidth, prefill against dense compute). The peaks are public "
        "figures with stated confidence, not measurements.",
    ),
    (
        "findings",
        "what `bench validate` says about the document: errors make a result invalid (listed "
        "apart, never ranked); warnings (⚠) are shown beside the result, beside the figure "
        "they are about (with a note under its table) and in its details.",
    ),
)


def markdown_rows() -> list[str]:
    """The metric table rows exactly as docs/measuring.md writes them."""
    return [f"| {d.metric} | {d.definition} | {d.unit} | {d.aliases} |" for d in METRICS]


def render(formulas: dict[str, str] | None = None) -> str:
    """The glossary section of the report, in Markdown (with the roofline's formulas)."""
    lines = [
        "## Glossary",
        "",
        "The kit's metric definitions (the same table as docs/measuring.md).",
        "",
        "| metric | definition | unit | other tools' names |",
        "|---|---|---|---|",
        *markdown_rows(),
        "",
        STATS_NOTE,
        "",
        "Words the report adds:",
        "",
        *(f"- **{term}**: {text}" for term, text in REPORT_TERMS),
        *(f"  - {phase}: `{formula}`" for phase, formula in (formulas or {}).items()),
        "",
    ]
    return "\n".join(lines)
