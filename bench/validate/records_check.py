"""The raw records a document names: same bytes (sha256), same metrics when recomputed.

Only records files that exist where the document says (a path relative to the document,
or absolute) are checked; a document submitted without its records is checked on its own.
Records in the kit's format (`bench-records-v1`) are read with `bench.records` and their
metrics recomputed with `bench.metrics.run_metrics`, the code that wrote them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.records import named_file
from bench.validate.findings import Issue, close, fmt, num, pointer, runs, sub

EXACT = (
    "requests_sent",
    "requests_completed",
    "requests_failed",
    "total_input_tokens",
    "total_output_tokens",
    "cached_prompt_tokens",
)
RATES = (
    "duration_s",
    "request_throughput_rps",
    "input_throughput_tok_s",
    "output_throughput_tok_s",
    "total_throughput_tok_s",
    "achieved_concurrency",
    "achieved_rate_rps",
    "goodput_rps",
    "interactivity_tok_s",
    "prefix_cache_hit_rate",
)
STATS = (
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "schedule_lag_ms",
    "ttft_first_of_group_ms",
    "ttft_rest_of_group_ms",
)
TURN_EXACT = ("turn", "requests_completed", "input_tokens", "cached_prompt_tokens")
STAT_FIELDS = ("mean", "median", "p90", "p99", "std", "min", "max")
# A records file this kit version cannot parse (another version's fields, say) is a warning:
# its bytes are what the document names, only the recomputation is impossible.
UNREADABLE = "records cannot be read by this kit version, metrics not recomputed: "
# Documents may round what they print; 0.1% still catches any real disagreement.
REL = 0.001
ABS = 0.01


def records_file(records: dict[str, Any], base_dir: Path) -> Path | None:
    target = named_file(records.get("path"), base_dir)
    return target if target is not None and target.is_file() else None


def _differences(stated: dict[str, Any], recomputed: dict[str, Any], where: tuple) -> list[Issue]:
    out = []
    pairs = [((k,), num(stated, k), num(recomputed, k), True) for k in EXACT]
    pairs += [((k,), num(stated, k), num(recomputed, k), False) for k in RATES]
    for key in STATS:
        s, r = sub(stated, key), sub(recomputed, key)
        pairs.append(((key, "count"), num(s, "count"), num(r, "count"), True))
        pairs += [((key, f), num(s, f), num(r, f), False) for f in STAT_FIELDS]
    s_del, r_del = sub(stated, "delivery"), sub(recomputed, "delivery")
    single = "single_read_requests"
    pairs.append((("delivery", single), num(s_del, single), num(r_del, single), True))
    s, r = sub(s_del, "tokens_per_read"), sub(r_del, "tokens_per_read")
    pairs.append((("delivery", "tokens_per_read", "count"), num(s, "count"), num(r, "count"), True))
    pairs += [
        (("delivery", "tokens_per_read", f), num(s, f), num(r, f), False) for f in STAT_FIELDS
    ]
    pairs += _turn_pairs(stated, recomputed)
    for path, a, b, exact in pairs:
        if a is None or b is None:
            continue
        if (a != b) if exact else not close(a, b, REL, ABS):
            out.append(
                Issue(
                    pointer(*where, "metrics", *path),
                    f"{'.'.join(path)} {fmt(a)} differs from {fmt(b)} recomputed from the "
                    f"run's records",
                )
            )
    return out


def _turn_pairs(stated: dict[str, Any], recomputed: dict[str, Any]) -> list[tuple]:
    """Each per_turn entry's counts and TTFT median against the recomputed one."""
    s_turns, r_turns = stated.get("per_turn"), recomputed.get("per_turn")
    if not isinstance(s_turns, list) or not isinstance(r_turns, list):
        return []
    pairs: list[tuple] = [(("per_turn", "length"), len(s_turns), len(r_turns), True)]
    for i, (s, r) in enumerate(zip(s_turns, r_turns, strict=False)):
        pairs += [(("per_turn", str(i), k), num(s, k), num(r, k), True) for k in TURN_EXACT]
        s_ttft, r_ttft = sub(s, "ttft_ms"), sub(r, "ttft_ms")
        pairs.append(
            (("per_turn", str(i), "ttft_ms", "median"), num(s_ttft, "median"),
             num(r_ttft, "median"), False)
        )  # fmt: skip
    return pairs


def records_issues(doc: Any, base_dir: Path) -> list[Issue]:
    """Records beside the document: the recorded sha256, and the metrics they give."""
    from bench.jsonio import sha256_file

    out = []
    for base, run in runs(doc):
        records = sub(run, "records")
        target = records_file(records, base_dir)
        if target is None:
            continue
        digest = records.get("sha256")
        if isinstance(digest, str) and sha256_file(target) != digest:
            out.append(
                Issue(
                    pointer(*base, "records", "sha256"),
                    f"{records['path']} has a different sha256 than the document records "
                    f"(changed since?)",
                )
            )
            continue
        if records.get("format") == "bench-records-v1":
            out += _recompute(run, target, base)
    return out


def _recompute(run: dict[str, Any], target: Path, base: tuple) -> list[Issue]:
    from bench.metrics import run_metrics
    from bench.records import read_records

    stated = sub(run, "metrics")
    try:
        records = read_records(target)
    except InputError as exc:
        return [Issue(pointer(*base, "records", "path"), f"{UNREADABLE}{exc}")]
    slo = stated.get("slo") if isinstance(stated.get("slo"), dict) else None
    recomputed = run_metrics(records, requested_rate_rps=num(stated, "requested_rate_rps"), slo=slo)
    out = _differences(stated, recomputed, base)
    count = num(sub(run, "records"), "count")
    if count is not None and count != len(records):
        out.append(
            Issue(
                pointer(*base, "records", "count"),
                f"records.count {fmt(count)} but the file holds {len(records)} records",
            )
        )
    return out
