"""Checks of a run's `telemetry` and `server_metrics` against the run itself.

- **server tokens**: with the server's deltas over the measured window (`window: measured`),
  the client's input and output token totals equal the server's exactly, unless the client
  recorded failed requests: then the server may count more (requests it worked on that the
  client did not finish), at most the failed requests' worth (`input_len` + the chat
  template allowance, and `output_len`, per failed request, when the workload names them),
  and never fewer. Its finished-request count lies between the client's completed and sent
  requests. With `window: whole_run` (a driver the kit cannot hook) the server's counts,
  which include the driver's warm-up, may not be below the client's.
- **server TTFT**: the client's mean TTFT is not below the server's mean by more than
  TTFT_SLACK_MS: the server starts its clock when the request reaches it, after the client's
  starts, and stops it before the first chunk leaves. Compared only when both counted the
  same requests.
- **NPU power**: no sample's power per NPU above the chip's rating (`bench.telemetry.limits`)
  by more than its margin.
- **NPU HBM**: HBM in use never above the NPU's capacity.
- **energy per token**: energy_per_output_token_j = energy_j / total_output_tokens.
`check_telemetry_source` (structure, always an error): a `measured` document's telemetry
cannot be the simulator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.telemetry.limits import RATING_MARGIN, rated_power_w
from bench.validate import tolerances as tol
from bench.validate.findings import Issue, close, fmt, items, num, pointer, runs, sub

TTFT_SLACK_MS = 1.0  # timer resolution and float rounding on either side
ARITHMETIC_REL = 1e-6


def _run_parts(doc: Any, section: str):
    for base, run in runs(doc):
        part = run.get(section)
        if isinstance(part, dict) and part.get("reason") is None:
            yield base, run, part


def _excess_bound(run: dict[str, Any], key: str, failed: float) -> float | None:
    """The most tokens `failed` unfinished requests can add to the server's count of `key`."""
    workload = sub(run, "workload")
    if key == "prompt_tokens":
        per = num(workload, "input_len")
        return None if per is None else failed * (per + tol.CHAT_TEMPLATE_TOKENS)
    per = num(workload, "output_len")
    return None if per is None else failed * per


def check_server_tokens_match_client(doc: Any) -> list[Issue]:
    out = []
    pairs = (("prompt_tokens", "total_input_tokens"), ("generation_tokens", "total_output_tokens"))
    for base, run, server in _run_parts(doc, "server_metrics"):
        metrics = sub(run, "metrics")
        failed = num(metrics, "requests_failed") or 0
        window = server.get("window")
        for server_key, client_key in pairs:
            s, c = num(server, server_key), num(metrics, client_key)
            if s is None or c is None:
                continue
            where = pointer(*base, "server_metrics", server_key)
            if s < c:
                out.append(
                    Issue(
                        where,
                        f"the server counted {fmt(s)} {server_key.replace('_', ' ')}, "
                        f"fewer than the client's {client_key} {fmt(c)}",
                    )
                )
            elif s > c and window == "measured":
                bound = _excess_bound(run, server_key, failed)
                if not failed or (bound is not None and s - c > bound):
                    why = (
                        "and the client recorded no failed request to explain it"
                        if not failed
                        else f"more than {fmt(failed)} failed requests can explain "
                        f"({fmt(bound or 0)})"
                    )
                    out.append(
                        Issue(
                            where,
                            f"the server counted {fmt(s)} {server_key.replace('_', ' ')}"
                            f" in the measured window, {fmt(s - c)} more than the client's "
                            f"{client_key} {fmt(c)}, {why}",
                        )
                    )
        requests = num(server, "requests")
        done, sent = num(metrics, "requests_completed"), num(metrics, "requests_sent")
        known = window == "measured" and None not in (requests, done, sent)
        if known and not done <= requests <= sent:
            out.append(
                Issue(
                    pointer(*base, "server_metrics", "requests"),
                    f"the server counted {fmt(requests)} finished requests in the measured "
                    f"window; the client completed {fmt(done)} of {fmt(sent)} sent",
                )
            )
    return out


def check_client_ttft_not_below_server(doc: Any) -> list[Issue]:
    out = []
    for base, run, server in _run_parts(doc, "server_metrics"):
        metrics = sub(run, "metrics")
        same = (
            server.get("window") == "measured"
            and num(metrics, "requests_failed") == 0
            and num(server, "requests") == num(metrics, "requests_completed")
        )
        s, c = num(server, "mean_ttft_ms"), num(sub(metrics, "ttft_ms"), "mean")
        if same and s is not None and c is not None and c < s - TTFT_SLACK_MS:
            out.append(
                Issue(
                    pointer(*base, "metrics", "ttft_ms", "mean"),
                    f"the client's mean TTFT {fmt(c)} ms is below the server's own "
                    f"{fmt(s)} ms for the same requests (the client's clock starts first)",
                )
            )
    return out


def check_npu_power_within_rating(doc: Any) -> list[Issue]:
    out = []
    for base, _run, tele in _run_parts(doc, "telemetry"):
        peak = num(sub(tele, "power_w"), "max")
        npus = [n for n in items(tele, "npus") if isinstance(n, dict)]
        if peak is None or not npus:
            continue
        rating, basis = rated_power_w(npus[0].get("name"))
        ceiling = rating * (1 + RATING_MARGIN) * len(npus)
        if peak > ceiling:
            out.append(
                Issue(
                    pointer(*base, "telemetry", "power_w", "max"),
                    f"peak power {fmt(peak)} W over {len(npus)} NPU(s) is above "
                    f"{fmt(ceiling)} W ({fmt(rating)} W each + {RATING_MARGIN:.0%}; {basis})",
                )
            )
    return out


def check_npu_hbm_within_capacity(doc: Any) -> list[Issue]:
    out = []
    for base, _run, tele in _run_parts(doc, "telemetry"):
        peak = num(sub(tele, "hbm_used_mib"), "max")
        capacities = [num(n, "hbm_capacity_mib") for n in items(tele, "npus")]
        known = [c for c in capacities if c is not None]
        if peak is not None and known and peak > max(known):
            out.append(
                Issue(
                    pointer(*base, "telemetry", "hbm_used_mib", "max"),
                    f"HBM in use {fmt(peak)} MiB is above the NPU's capacity {fmt(max(known))} MiB",
                )
            )
    return out


def check_energy_per_token(doc: Any) -> list[Issue]:
    out = []
    for base, run, tele in _run_parts(doc, "telemetry"):
        energy, per = num(tele, "energy_j"), num(tele, "energy_per_output_token_j")
        tokens = num(sub(run, "metrics"), "total_output_tokens")
        if None in (energy, per, tokens) or not tokens:
            continue
        if not close(per, energy / tokens, ARITHMETIC_REL, 1e-12):
            out.append(
                Issue(
                    pointer(*base, "telemetry", "energy_per_output_token_j"),
                    f"energy per output token {fmt(per)} J is not energy_j {fmt(energy)} J / "
                    f"{fmt(tokens)} output tokens = {fmt(energy / tokens)} J",
                )
            )
    return out


def check_telemetry_source(doc: Any) -> list[Issue]:
    """A measured document cannot carry the simulator's NPU readings."""
    if doc.get("kind") != "measured":
        return []
    return [
        Issue(
            pointer(*base, "telemetry", "source"),
            "a measured run carries simulated NPU telemetry (`bench sim --npu-smi-dir`)",
        )
        for base, run in runs(doc)
        if sub(run, "telemetry").get("source") == "simulated"
    ]


CHECKS = [
    check_server_tokens_match_client,
    check_client_ttft_not_below_server,
    check_npu_power_within_rating,
    check_npu_hbm_within_capacity,
    check_energy_per_token,
]
STRUCTURE_CHECKS = [check_telemetry_source]


def timeline_issues(doc: Any, base_dir: Path) -> list[Issue]:
    """Timeline files beside the document: the sha256 and sample count the run states. A
    document submitted without its timelines is judged on its own."""
    from bench.jsonio import sha256_file
    from bench.records import named_file

    out = []
    for base, run in runs(doc):
        for section in ("telemetry", "server_metrics"):
            timeline = sub(sub(run, section), "timeline")
            path = timeline.get("path")
            file = named_file(path, base_dir)
            if file is None or not file.is_file():
                continue
            where = pointer(*base, section, "timeline")
            if sha256_file(file) != timeline.get("sha256"):
                out.append(Issue(where, f"{path}: sha256 differs from the one the run states"))
                continue
            with file.open("rb") as f:
                lines = sum(1 for line in f if line.strip())
            if lines != num(timeline, "count"):
                out.append(
                    Issue(
                        where, f"{path} holds {lines} samples; the run says {timeline.get('count')}"
                    )
                )
    return out
