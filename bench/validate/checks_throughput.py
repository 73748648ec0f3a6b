"""Consistency of each run's counts and throughputs with each other and with its workload.

Each check is a pure function of the whole document returning `Issue`s; it looks only at
figures that are present, so a `reported` document with three figures is checked on those.
"""

from __future__ import annotations

import math
from typing import Any

from bench.system.parallel import npus_of_args
from bench.validate import tolerances as tol
from bench.validate.findings import Issue, close, fmt, num, pct, pointer, runs, sub


def _ok(actual: float, expected: float) -> bool:
    return close(actual, expected, tol.ARITHMETIC_REL, tol.ARITHMETIC_ABS)


def check_request_counts(doc: Any) -> list[Issue]:
    """requests_completed + requests_failed = requests_sent; failures by kind sum to failed."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        sent, done, failed = (
            num(m, "requests_sent"),
            num(m, "requests_completed"),
            num(m, "requests_failed"),
        )
        if None not in (sent, done, failed) and done + failed != sent:
            out.append(
                Issue(
                    pointer(*base, "metrics", "requests_sent"),
                    f"requests_sent {fmt(sent)} != completed {fmt(done)} + failed {fmt(failed)}",
                )
            )
        kinds = sub(m, "failures")
        if failed is not None and kinds:
            total = sum(v for v in kinds.values() if isinstance(v, int))
            if total != failed:
                out.append(
                    Issue(
                        pointer(*base, "metrics", "failures"),
                        f"failures by kind sum to {total}, requests_failed is {fmt(failed)}",
                    )
                )
    return out


def check_total_is_input_plus_output(doc: Any) -> list[Issue]:
    """total_throughput_tok_s = input_throughput_tok_s + output_throughput_tok_s."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        i, o, t = (num(m, k) for k in _TPUT)
        if None not in (i, o, t) and not _ok(t, i + o):
            out.append(
                Issue(
                    pointer(*base, "metrics", "total_throughput_tok_s"),
                    f"total throughput {fmt(t)} tok/s != input {fmt(i)} + output {fmt(o)} "
                    f"= {fmt(i + o)} ({pct(t, i + o)})",
                )
            )
    return out


_TPUT = ("input_throughput_tok_s", "output_throughput_tok_s", "total_throughput_tok_s")


def check_throughput_matches_tokens(doc: Any) -> list[Issue]:
    """Token throughputs = token totals / duration_s; requests/s = completed / duration_s."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        duration = num(m, "duration_s")
        if not duration:
            continue
        tin, tout = num(m, "total_input_tokens"), num(m, "total_output_tokens")
        done = num(m, "requests_completed")
        expected = {
            "input_throughput_tok_s": tin,
            "output_throughput_tok_s": tout,
            "total_throughput_tok_s": None if None in (tin, tout) else tin + tout,
            "request_throughput_rps": done,
        }
        for key, amount in expected.items():
            value = num(m, key)
            if value is None or amount is None:
                continue
            want = amount / duration
            if not _ok(value, want):
                out.append(
                    Issue(
                        pointer(*base, "metrics", key),
                        f"{key} {fmt(value)} != {fmt(amount)} / {fmt(duration)} s = {fmt(want)} "
                        f"({pct(value, want)})",
                    )
                )
    return out


def check_tokens_per_request_match_workload(doc: Any) -> list[Issue]:
    """Throughput / request throughput = mean tokens per request; it must fit the workload.

    For `workload` and, when present, `workload_as_described`: mean N_out <= output_len,
    and = output_len when every request is forced to it (ignore_eos, fixed lengths); mean
    N_in within [range_ratio x input_len, input_len] (plus a chat template's tokens).
    Without an input throughput, total - output stands in for it.
    """
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        for wkey in ("workload", "workload_as_described"):
            w = sub(run, wkey)
            if w:
                out += _output_per_request(base, m, w, wkey) + _input_per_request(base, m, w, wkey)
    return out


def _fixed_lengths(w: dict[str, Any]) -> bool:
    return num(w, "range_ratio") == 1.0 or w.get("dataset") == "fixed-prompt"


def _output_per_request(base: tuple, m: dict, w: dict, wkey: str) -> list[Issue]:
    rps, o = num(m, "request_throughput_rps"), num(m, "output_throughput_tok_s")
    out_len = num(w, "output_len")
    if not rps or o is None or not out_len:
        return []
    n_out = o / rps
    forced = _fixed_lengths(w) and w.get("ignore_eos") is True
    too_many = n_out > out_len * (1 + tol.ARITHMETIC_REL)
    if not too_many and not (forced and not close(n_out, out_len, tol.ARITHMETIC_REL)):
        return []
    return [
        Issue(
            pointer(*base, "metrics", "output_throughput_tok_s"),
            f"output throughput {fmt(o)} tok/s at {fmt(rps)} req/s is {n_out:.1f} tokens per "
            f"request; {wkey} ({w.get('dataset')}) asks for "
            f"{'exactly' if forced else 'at most'} {fmt(out_len)}",
        )
    ]


def _input_per_request(base: tuple, m: dict, w: dict, wkey: str) -> list[Issue]:
    rps, in_len = num(m, "request_throughput_rps"), num(w, "input_len")
    o, t = num(m, "output_throughput_tok_s"), num(m, "total_throughput_tok_s")
    i = num(m, "input_throughput_tok_s")
    derived = i is None and None not in (o, t)
    if derived:
        i = t - o
    if not rps or i is None or not in_len:
        return []
    if w.get("dataset") not in ("random", "random-ids", "fixed-prompt"):
        return []
    n_in = i / rps
    low = in_len if _fixed_lengths(w) else in_len * (num(w, "range_ratio") or 0.0)
    slack = tol.CHAT_TEMPLATE_TOKENS if w.get("api") == "chat" else 1
    if low * (1 - tol.ARITHMETIC_REL) - 1 <= n_in <= in_len * (1 + tol.ARITHMETIC_REL) + slack:
        return []
    lengths = fmt(in_len) if low == in_len else f"{fmt(low)}-{fmt(in_len)}"
    if derived:
        n_out = o / rps
        return [
            Issue(
                pointer(*base, "metrics", "total_throughput_tok_s"),
                f"total {fmt(t)} - output {fmt(o)} tok/s at {fmt(rps)} req/s leaves "
                f"{n_in:.1f} input tokens per request; {wkey} ({w.get('dataset')}) has prompts "
                f"of {lengths} tokens, which would make the total about "
                f"{rps * (in_len + n_out):.0f} tok/s",
            )
        ]
    return [
        Issue(
            pointer(*base, "metrics", "input_throughput_tok_s"),
            f"input throughput {fmt(i)} tok/s at {fmt(rps)} req/s is {n_in:.1f} tokens per "
            f"request; {wkey} ({w.get('dataset')}) has prompts of {lengths} tokens",
        )
    ]


def check_request_rate(doc: Any) -> list[Issue]:
    """The metrics' requested rate is the workload's; achieved rate within 5% + 3/sqrt(n)."""
    out = []
    for base, run in runs(doc):
        m, w = sub(run, "metrics"), sub(run, "workload")
        asked, got = num(m, "requested_rate_rps"), num(m, "achieved_rate_rps")
        planned = num(w, "request_rate_rps")
        if planned is not None and asked is not None and not close(asked, planned, 1e-6):
            out.append(
                Issue(
                    pointer(*base, "metrics", "requested_rate_rps"),
                    f"requested_rate_rps {fmt(asked)} differs from the workload's "
                    f"request_rate_rps {fmt(planned)}",
                )
            )
        sent = num(m, "requests_sent") or num(w, "num_prompts")
        if asked is None or got is None or not sent or sent < 1 or asked <= 0:
            continue
        allowed = tol.RATE_REL + tol.RATE_SIGMAS / math.sqrt(sent)
        capped = num(w, "max_concurrency") is not None  # a cap may hold the rate down
        if got > asked * (1 + allowed) or (not capped and got < asked * (1 - allowed)):
            out.append(
                Issue(
                    pointer(*base, "metrics", "achieved_rate_rps"),
                    f"achieved rate {fmt(got)} req/s is {pct(got, asked)} off the requested "
                    f"{fmt(asked)} req/s (allowed +-{100 * allowed:.0f}% for {fmt(sent)} requests)",
                )
            )
    return out


def check_derived_metrics(doc: Any) -> list[Issue]:
    """interactivity = 1000 / median TPOT; per-NPU = output / accelerators; goodput <= rps."""
    out = []
    accel = accelerator_count(doc)
    for base, run in runs(doc):
        m = sub(run, "metrics")
        inter, med = num(m, "interactivity_tok_s"), num(sub(m, "tpot_ms"), "median")
        if inter is not None and med:
            want = 1000 / med
            if not _ok(inter, want):
                out.append(
                    Issue(
                        pointer(*base, "metrics", "interactivity_tok_s"),
                        f"interactivity {fmt(inter)} tok/s != 1000 / median TPOT {fmt(med)} ms "
                        f"= {fmt(want)}",
                    )
                )
        per, o = num(m, "output_throughput_per_npu_tok_s"), num(m, "output_throughput_tok_s")
        if per is not None and o is not None and not _ok(per, o / accel):
            out.append(
                Issue(
                    pointer(*base, "metrics", "output_throughput_per_npu_tok_s"),
                    f"per-NPU throughput {fmt(per)} tok/s != output {fmt(o)} / {accel} "
                    f"accelerator(s) = {fmt(o / accel)}",
                )
            )
        good, rps = num(m, "goodput_rps"), num(m, "request_throughput_rps")
        if good is not None and rps is not None and good > rps * (1 + tol.ARITHMETIC_REL):
            out.append(
                Issue(
                    pointer(*base, "metrics", "goodput_rps"),
                    f"goodput {fmt(good)} req/s exceeds request throughput {fmt(rps)} req/s",
                )
            )
    return out


def accelerator_count(doc: Any) -> int:
    """Accelerators the server used: system.accelerator.count, else what server.args imply
    (`bench.system.parallel`: tp x pp x dp, dp inside tp with DP attention), else 1."""
    count = num(sub(sub(doc, "system"), "accelerator"), "count")
    if count and count >= 1:
        return int(count)
    return npus_of_args(sub(sub(doc, "server"), "args")) or 1


CHECKS = [
    check_request_counts,
    check_total_is_input_plus_output,
    check_throughput_matches_tokens,
    check_tokens_per_request_match_workload,
    check_request_rate,
    check_derived_metrics,
]
