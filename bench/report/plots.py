"""The report's plots as PNG bytes: deterministic, headless, no untrusted text inside.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no GUI backend), under
matplotlib's default style (a user's matplotlibrc cannot change them), at a fixed size and
resolution, and saved without the `Software` metadata, so the same results give the same
bytes. Labels use the report's result ids (R1, R2, ...) and fixed words only: nothing a
submission wrote reaches matplotlib's text engine (which would interpret `$...$`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bench.report.rows import Row, dig, number

SIZE_IN = (7.0, 4.2)
DPI = 100
KIND_STYLE = {  # marker, line style, filled
    "measured": ("o", "-", True),
    "simulated": ("^", "--", False),
    "reported": ("s", ":", True),
}
LADDER = (("min", "min"), ("median", "p50"), ("p90", "p90"), ("p99", "p99"), ("max", "max"))
LATENCIES = (("ttft_ms", "TTFT (ms)"), ("tpot_ms", "TPOT (ms)"), ("e2e_ms", "E2E latency (ms)"))


@dataclass(frozen=True)
class Plot:
    name: str  # file name, e.g. `throughput-vs-interactivity-1.png`
    heading: str  # Markdown heading above the image (escaped)
    alt: str  # alt text (built from fixed words and result ids only)
    caption: str  # one line under the image (fixed words and ids only)
    png: bytes


def new_figure(nrows: int = 1, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes[0]


def png_of(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def plot_line(ax, points: list[tuple[float, float]], kind: str, label: str) -> None:
    """One line of (x, y) points, marked and dashed as its kind (`KIND_STYLE`) says."""
    marker, line, filled = KIND_STYLE.get(kind.split()[0], ("x", "-.", True))
    ax.plot(
        [p[0] for p in points],
        [p[1] for p in points],
        marker=marker,
        linestyle=line,
        markerfacecolor=None if filled else "none",
        label=label,
    )


def throughput_vs_interactivity(index: int, rows: list[Row], title: str) -> Plot | None:
    """Output tok/s per NPU against tok/s per user, one series per result.

    `title` (model, hardware, engine) is already escaped Markdown; it goes into the alt
    text only, never into the image.

    `rows` are the throughput rows of one model + hardware + engine. Each result's runs are
    joined in order of interactivity, so a concurrency sweep draws its trade-off curve.
    The rows of a group share their accelerator count, so when any of them lacks the
    per-NPU figure (the count is unknown) the plot shows output tok/s of all NPUs instead,
    and says so on its axis. Returns None when no row has both figures.
    """
    import matplotlib.style as mpl_style

    per_npu = all(r.metric("output_throughput_per_npu_tok_s") is not None for r in rows)
    y_key = "output_throughput_per_npu_tok_s" if per_npu else "output_throughput_tok_s"
    y_label = "output tokens/s per NPU" if per_npu else "output tokens/s (all NPUs)"
    series: dict[str, list[tuple[float, float]]] = {}
    kinds: dict[str, str] = {}
    left_out: list[str] = []
    for row in rows:
        x = row.metric("interactivity_tok_s")
        y = row.metric(y_key)
        if x is None or y is None:
            left_out.append(row.entry.rid)
            continue
        series.setdefault(row.entry.rid, []).append((x, y))
        kinds[row.entry.rid] = row.entry.kind_label
    if not series:
        return None
    with mpl_style.context("default"):
        fig, (ax,) = new_figure()
        for rid, points in series.items():
            points.sort()
            plot_line(ax, points, kinds[rid], f"{rid} ({kinds[rid]})")
        ax.set_xlabel("interactivity: tokens/s per user (1000 / median TPOT)")
        ax.set_ylabel(y_label)
        ax.set_title(f"Throughput vs interactivity (model, hardware and engine group {index})")
        xs = [p[0] for pts in series.values() for p in pts]
        ys = [p[1] for pts in series.values() for p in pts]
        ax.set_xlim(0, max(xs) * 1.15 or 1.0)
        ax.set_ylim(0, max(ys) * 1.15 or 1.0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        png = png_of(fig)
    plotted = ", ".join(f"{rid} ({kinds[rid]})" for rid in series)
    caption = f"Plotted: {plotted}."
    if left_out:
        caption += f" Not plotted (no interactivity or output throughput): {', '.join(left_out)}."
    alt = f"{y_label[0].upper()}{y_label[1:]} against tokens/s per user for {title}"
    heading = f"Throughput vs interactivity, group {index}: {title}"
    return Plot(f"throughput-vs-interactivity-{index}.png", heading, alt, caption, png)


def ladder_points(row: Row, metric: str) -> list[tuple[int, float]]:
    """(position, value) of the statistics a run states, at min, p50, p90, p99, max.

    A single value (count 1, no order statistics given) is drawn once, at p50: it is the
    whole distribution, and drawing it five times would pretend to more.
    """
    pts = [(i, number(dig(row.run, "metrics", metric, f))) for i, (f, _) in enumerate(LADDER)]
    found = [(i, v) for i, v in pts if v is not None]
    if not found and dig(row.run, "metrics", metric, "count") == 1:
        mean = number(dig(row.run, "metrics", metric, "mean"))
        found = [(1, mean)] if mean is not None else []
    return found


def latency_ladder(rid: str, kind: str, rows: list[Row]) -> Plot | None:
    """TTFT, TPOT and E2E of every run of one result at min, p50, p90, p99 and max.

    The report reads documents, not raw records, so the distribution is drawn from the
    summary statistics the document holds. Returns None when no run has any of them.
    """
    import matplotlib.style as mpl_style

    labels = [f"{row.section} run {i}" for i, row in enumerate(rows, start=1)]
    found = any(ladder_points(row, m) for row in rows for m, _ in LATENCIES)
    if not found:
        return None
    with mpl_style.context("default"):
        fig, axes = new_figure(1, 3)
        for ax, (metric, title) in zip(axes, LATENCIES, strict=True):
            drawn = False
            for label, row in zip(labels, rows, strict=True):
                pts = ladder_points(row, metric)
                if not pts:
                    continue
                plot_line(ax, pts, kind, label)
                drawn = True
            ax.set_xticks(range(len(LADDER)), [short for _, short in LADDER])
            ax.set_title(title, fontsize="medium")
            ax.grid(True, alpha=0.3)
            if not drawn:
                ax.text(0.5, 0.5, "not reported", ha="center", va="center", transform=ax.transAxes)
        handles, names = axes[0].get_legend_handles_labels()
        for ax in axes[1:]:
            for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
                if name not in names:
                    handles.append(handle)
                    names.append(name)
        fig.legend(
            handles, names, loc="lower center", ncol=min(len(names), 4) or 1, fontsize="small"
        )
        fig.suptitle(f"Latency distribution of {rid} ({kind})", fontsize="medium")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        png = png_of(fig)
    runs = "; ".join(f"run {i}: {row.section}" for i, row in enumerate(rows, start=1))
    alt = f"TTFT, TPOT and E2E latency percentiles of {rid} ({kind})"
    caption = f"{rid} ({kind}), from the summary statistics in the document ({runs})."
    heading = f"Latency distribution of {rid} ({kind})"
    return Plot(f"latency-{rid}.png", heading, alt, caption, png)
