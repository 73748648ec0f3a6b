"""TTFT against input length, with the prefill roofline beside it (the long-context plot).

One plot per result with latency runs at two or more input lengths (the `long-context`
profile's 1K to 32K): each run's median TTFT at its mean prompt length (N_in per request,
else the workload's `input_len`), and where the roofline could judge the document
(`bench.roofline.analyse`: the model's size and a known accelerator), each run's prefill
bound TTFT_min at the same length. Both axes are logarithmic: a cost linear in the length
is a slope of 1, the attention's square a slope of 2, so the bend of a long context shows.
Deterministic and free of untrusted text, as every plot of the report (`plots`).
"""

from __future__ import annotations

from typing import Any

from bench.report.plots import Plot, new_figure, plot_line, png_of
from bench.report.rows import Row, dig, number


def input_tokens(row: Row) -> float | None:
    """Mean N_in per completed request; else the workload's input_len."""
    done = number(dig(row.run, "metrics", "requests_completed"))
    total = number(dig(row.run, "metrics", "total_input_tokens"))
    if done and total:
        return total / done
    return number(row.workload("input_len"))


def ttft_points(rows: list[Row]) -> list[tuple[float, float, str]]:
    """(input tokens, median TTFT ms, run name) of every latency run that has both, by
    length."""
    points = []
    for row in rows:
        if row.section != "latency":
            continue
        x, y = input_tokens(row), row.metric("ttft_ms", "median")
        if x and y:
            points.append((x, y, row.name))
    return sorted(points)


def bound_points(
    points: list[tuple[float, float, str]], analysis: dict[str, Any] | None, speed: float = 1.0
) -> list[tuple[float, float]]:
    """(input tokens, TTFT_min ms) of the runs the roofline judged; divided by the speed of
    a simulator run faster than real time, as every duration it gave was."""
    bounds = {
        str(r.get("name")): number(dig(r, "prefill", "ttft_min_ms"))
        for r in (analysis or {}).get("runs") or []
        if r.get("kind") == "latency"
    }
    return [(x, bounds[name] / speed) for x, _y, name in points if bounds.get(name)]


def ttft_vs_input(
    rid: str,
    kind: str,
    rows: list[Row],
    analysis: dict[str, Any] | None,
    speed: float | None = None,
) -> Plot | None:
    """The plot for one result; None unless its latency runs span two input lengths."""
    import matplotlib.style as mpl_style

    points = ttft_points(rows)
    if len({round(x) for x, _y, _n in points}) < 2:
        return None
    speed = speed or 1.0
    bounds = bound_points(points, analysis, speed)
    with mpl_style.context("default"):
        fig, (ax,) = new_figure()
        plot_line(ax, [(x, y) for x, y, _n in points], kind, f"{rid} median TTFT ({kind})")
        if bounds:
            ax.plot(
                [b[0] for b in bounds],
                [b[1] for b in bounds],
                color="0.4",
                linestyle=":",
                marker=".",
                label="prefill roofline (TTFT_min)",
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input tokens per request (N_in)")
        ax.set_ylabel("TTFT (ms)")
        ax.set_title(f"TTFT against input length, {rid} ({kind})", fontsize="medium")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
        fig.tight_layout()
        png = png_of(fig)
    caption = (
        f"{rid} ({kind}): the median TTFT of each of its {len(points)} latency runs at its "
        "mean prompt length, from the summary statistics in the document"
    )
    caption += (
        "; beside it the roofline's prefill bound TTFT_min (2 x P x N_in + 2 x L x N_in^2 x "
        "d_attn FLOPs at the accelerator's peak), which no run can beat without a cache hit"
        + (f", divided by the simulator's speed {speed:g}" if speed != 1 else "")
        + "."
        if bounds
        else "; no prefill bound (the roofline needs the model's size and a known accelerator)."
    )
    alt = f"Median TTFT against input tokens for {rid} ({kind})" + (
        ", with the prefill roofline" if bounds else ""
    )
    return Plot(
        f"ttft-vs-input-{rid}.png", f"TTFT against input length, {rid} ({kind})", alt, caption, png
    )
