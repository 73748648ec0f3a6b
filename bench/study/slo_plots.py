"""Goodput and SLO attainment against load, one line per configuration, the largest load
meeting the SLO marked: a PNG as deterministic as the report's other plots (the Agg
canvas, matplotlib's default style, a fixed size, no `Software` metadata). Lines are
labelled C1, C2, ...; nothing from the study file reaches matplotlib's text engine."""

from __future__ import annotations

from typing import Any

from bench.report.plots import Plot, new_figure, png_of


def goodput_plot(index: int, series: dict[int, tuple[list, Any]], spec, kind: str) -> Plot | None:
    """`series`: configuration -> (Points by load, its largest passing load or None)."""
    import matplotlib.style as mpl_style

    if not any(pts for pts, _ in series.values()):
        return None
    with mpl_style.context("default"):
        fig, (ax_good, ax_att) = new_figure(1, 2)
        for config, (pts, largest) in series.items():
            if not pts:
                continue
            xs = [p.load for p in pts]
            goods = [p.goodput_rps if p.goodput_rps is not None else 0.0 for p in pts]
            line = ax_good.plot(xs, goods, marker="o", label=f"C{config}")[0]
            color = line.get_color()
            atts = [p.attainment for p in pts]
            errs = [
                [max(0.0, p.attainment - p.ci95_low) for p in pts],
                [max(0.0, p.ci95_high - p.attainment) for p in pts],
            ]
            ax_att.errorbar(xs, atts, yerr=errs, marker="o", capsize=3, color=color)
            uncertain = [(p.load, p.attainment) for p in pts if p.status == "uncertain"]
            if uncertain:
                ax_att.plot(*zip(*uncertain, strict=True), "s", mfc="none", ms=10, color=color)
            if largest is not None:
                best = next(p for p in pts if p.load == largest)
                for ax, y in ((ax_good, best.goodput_rps or 0.0), (ax_att, best.attainment)):
                    ax.axvline(largest, color=color, linestyle="--", alpha=0.5)
                    ax.plot([largest], [y], "*", color=color, markersize=16)
        if spec.slo.attainment is not None:
            ax_att.axhline(spec.slo.attainment, color="black", linestyle=":", label="target")
            ax_att.legend(loc="lower left", fontsize="small")
        word = "max concurrency" if spec.axis == "max_concurrency" else "request rate (req/s)"
        for ax in (ax_good, ax_att):
            ax.set_xscale("log", base=2)
            ax.set_xlabel(word)
            ax.grid(True, alpha=0.3)
        ax_good.set_ylabel("goodput (requests/s meeting every SLO)")
        ax_good.set_ylim(bottom=0)
        ax_att.set_ylabel("SLO attainment (fraction of requests)")
        ax_att.set_ylim(-0.02, 1.02)
        ax_good.legend(loc="best", fontsize="small")
        fig.suptitle(f"Goodput and SLO attainment against load, workload {index} ({kind})",
                     fontsize="medium")  # fmt: skip
        fig.tight_layout()
        png = png_of(fig)
    caption = (
        "Goodput: mean over the runs at each load; attainment pooled over them with its 95% "
        "Wilson interval; squares mark uncertain probes; a star and a dashed line mark each "
        "configuration's largest load meeting the SLO."
    )
    alt = f"Goodput and SLO attainment against load for workload {index} ({kind})"
    name = f"goodput-vs-load-{index}.png"
    return Plot(name, f"Goodput and attainment against load, workload {index}", alt, caption, png)
