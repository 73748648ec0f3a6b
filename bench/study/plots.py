"""A study's plots as PNG bytes, deterministic as the report's (`bench.report.plots`): the
Agg canvas, matplotlib's default style, a fixed size, no `Software` metadata. Lines are
labelled C1, C2, ... (the report's table says which grid values each is); nothing from the
study file reaches matplotlib's text engine.

Per workload: the Pareto plot (output tok/s per NPU against tok/s per user, one line per
configuration along its load levels, 95% intervals as error bars, the front drawn through
its cells), output throughput against load, and p99 TTFT and TPOT against load.
"""

from __future__ import annotations

import math
from typing import Any

from bench.report.plots import Plot, new_figure, png_of

METRIC_LABELS = {
    "output_throughput_per_npu_tok_s": "output tokens/s per NPU",
    "output_throughput_tok_s": "output tokens/s (all NPUs)",
    "interactivity_tok_s": "tokens/s per user (1000 / median TPOT)",
}


def _mean_err(cell: dict[str, Any], metric: str) -> tuple[float | None, list[float]]:
    """(mean, [below, above]) of a cell's metric; zero error bars without an interval."""
    s = cell["statistics"].get(metric)
    if not s:
        return None, [0.0, 0.0]
    low, high = s.get("ci95_low"), s.get("ci95_high")
    if low is None or high is None:
        return s["mean"], [0.0, 0.0]
    return s["mean"], [max(0.0, s["mean"] - low), max(0.0, high - s["mean"])]


def _load_value(cell: dict[str, Any]) -> float | None:
    ((_kind, value),) = cell["load"].items()
    return None if value is None or math.isinf(value) else float(value)


def _by_configuration(cells: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for cell in cells:
        if cell["repeats"]:
            out.setdefault(cell["configuration"], []).append(cell)
    return out


def pareto_plot(
    index: int, cells: list[dict[str, Any]], front: dict[str, Any], kind: str
) -> Plot | None:
    """Output tok/s per NPU against tok/s per user; the front as a black line."""
    import matplotlib.style as mpl_style

    y_metric = front.get("y_metric") or "output_throughput_tok_s"
    x_metric = "interactivity_tok_s"
    series = _by_configuration(cells)
    if not any(_mean_err(c, x_metric)[0] is not None for cs in series.values() for c in cs):
        return None
    by_id = {c["id"]: c for c in cells}
    with mpl_style.context("default"):
        fig, (ax,) = new_figure()
        for config, members in series.items():
            pts = []
            for c in sorted(members, key=lambda c: _mean_err(c, x_metric)[0] or 0):
                x, xerr = _mean_err(c, x_metric)
                y, yerr = _mean_err(c, y_metric)
                if x is not None and y is not None:
                    pts.append((x, y, xerr, yerr, c["ranked"]))
            if not pts:
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            xerr = [[p[2][0] for p in pts], [p[2][1] for p in pts]]
            yerr = [[p[3][0] for p in pts], [p[3][1] for p in pts]]
            line = ax.errorbar(
                xs, ys, xerr=xerr, yerr=yerr, marker="o", capsize=3, label=f"C{config}"
            )
            unranked = [(p[0], p[1]) for p in pts if not p[4]]
            if unranked:
                ax.plot(*zip(*unranked, strict=True), "x", color=line[0].get_color(), markersize=10)
        on_front = [by_id[cid] for cid in front.get("cells", []) if cid in by_id]
        if on_front:
            fx = [c["statistics"][x_metric]["mean"] for c in on_front]
            fy = [c["statistics"][y_metric]["mean"] for c in on_front]
            ax.plot(fx, fy, "-", color="black", linewidth=2.5, alpha=0.35, label="Pareto front")
            ax.plot(fx, fy, "o", markersize=13, markerfacecolor="none", color="black")
        ax.set_xlabel(METRIC_LABELS[x_metric])
        ax.set_ylabel(METRIC_LABELS[y_metric])
        ax.set_title(f"Pareto front, workload {index} ({kind})")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        png = png_of(fig)
    configs = ", ".join(f"C{c}" for c in series)
    caption = (
        f"One line per configuration ({configs}) along its load levels, 95% intervals as error "
        "bars; the front (circled, black line); x marks cells that are not ranked."
    )
    alt = f"Output tokens/s per NPU against tokens/s per user for workload {index} ({kind})"
    return Plot(f"pareto-{index}.png", f"Pareto front, workload {index}", alt, caption, png)


def load_plot(
    index: int, cells: list[dict[str, Any]], load_kind: str, kind: str, per_npu: bool
) -> Plot | None:
    """Output throughput against the load level, one line per configuration."""
    import matplotlib.style as mpl_style

    metric = "output_throughput_per_npu_tok_s" if per_npu else "output_throughput_tok_s"
    series = _series(cells, metric)
    if not series:
        return None
    with mpl_style.context("default"):
        fig, (ax,) = new_figure()
        for config, pts in series.items():
            _draw(ax, pts, f"C{config}")
        _load_axis(ax, load_kind)
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.set_ylim(bottom=0)
        ax.set_title(f"Throughput against load, workload {index} ({kind})")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        png = png_of(fig)
    caption = "Mean over the repeats, 95% intervals as error bars" + _inf_note(cells)
    alt = f"Output throughput against {_load_word(load_kind)} for workload {index} ({kind})"
    name = f"throughput-vs-load-{index}.png"
    return Plot(name, f"Throughput against load, workload {index}", alt, caption, png)


def latency_plot(index: int, cells: list[dict[str, Any]], load_kind: str, kind: str) -> Plot | None:
    """p99 TTFT and p99 TPOT against the load level, one line per configuration."""
    import matplotlib.style as mpl_style

    metrics = (("ttft_ms_p99", "p99 TTFT (ms)"), ("tpot_ms_p99", "p99 TPOT (ms)"))
    if not any(_series(cells, m) for m, _ in metrics):
        return None
    with mpl_style.context("default"):
        fig, axes = new_figure(1, 2)
        for ax, (metric, label) in zip(axes, metrics, strict=True):
            for config, pts in _series(cells, metric).items():
                _draw(ax, pts, f"C{config}")
            _load_axis(ax, load_kind)
            ax.set_ylabel(label)
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
        axes[0].legend(loc="best", fontsize="small")
        fig.suptitle(f"p99 latency against load, workload {index} ({kind})", fontsize="medium")
        fig.tight_layout()
        png = png_of(fig)
    caption = "Mean of each repeat's p99, 95% intervals as error bars" + _inf_note(cells)
    alt = f"p99 TTFT and TPOT against {_load_word(load_kind)} for workload {index} ({kind})"
    name = f"latency-vs-load-{index}.png"
    return Plot(name, f"p99 latency against load, workload {index}", alt, caption, png)


def _series(cells: list[dict[str, Any]], metric: str) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for config, members in _by_configuration(cells).items():
        pts = []
        for c in members:
            x = _load_value(c)
            y, err = _mean_err(c, metric)
            if x is not None and y is not None:
                pts.append((x, y, err))
        if pts:
            out[config] = sorted(pts)
    return out


def _draw(ax, pts: list[tuple], label: str) -> None:
    yerr = [[p[2][0] for p in pts], [p[2][1] for p in pts]]
    ax.errorbar(
        [p[0] for p in pts], [p[1] for p in pts], yerr=yerr, marker="o", capsize=3, label=label
    )


def _load_axis(ax, load_kind: str) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xlabel(_load_word(load_kind))


def _load_word(load_kind: str) -> str:
    return "max concurrency" if load_kind == "max_concurrency" else "request rate (req/s)"


def _inf_note(cells: list[dict[str, Any]]) -> str:
    if any(c["repeats"] and _load_value(c) is None for c in cells):
        return "; the unbounded rate (inf) is in the table, not on this axis."
    return "."
