"""The report's telemetry: a table of every run that has it, and one timeline plot per run.

Only valid documents are shown. The table gives the NPU's mean power, peak HBM and energy per
output token, and the server cross-check (the server's own token counts over the measured
window beside the client's). The plot draws power, HBM in use, AI Core utilisation and the
server's running and queued requests against time from the window's start, the window
shaded; its labels are fixed words and result ids only (nothing a document wrote). The whole
section is left out when no valid result has telemetry.
"""

from __future__ import annotations

from typing import Any

from bench.report import text
from bench.report.plots import DPI, Plot, png_of
from bench.report.results import ResultEntry
from bench.report.tables import markdown_table

PLOT_SIZE_IN = (7.0, 6.0)
HEADERS = [
    "result", "kind", "run", "NPU source", "mean power (W)", "peak HBM (MiB)",
    "energy / output token (J)", "server cross-check",
]  # fmt: skip


def telemetry_runs(entry: ResultEntry) -> list[tuple[int, str, dict[str, Any]]]:
    """(index among the document's runs, section, run) of every run with telemetry."""
    if not entry.valid or not isinstance(entry.doc, dict):
        return []
    measurements = entry.doc.get("measurements") or {}
    runs = [(s, r) for s in ("throughput", "latency") for r in measurements.get(s) or []]
    return [
        (i, section, run)
        for i, (section, run) in enumerate(runs, start=1)
        if isinstance(run, dict) and ("telemetry" in run or "server_metrics" in run)
    ]


def cross_check(run: dict[str, Any]) -> str:
    """The server's counts beside the client's, in words."""
    server = run.get("server_metrics")
    if not isinstance(server, dict):
        return "not scraped"
    if server.get("reason"):
        return f"not compared: {text.inline(server['reason'], 120)}"
    metrics = run.get("metrics") or {}
    parts = []
    for key, client_key, label in (
        ("prompt_tokens", "total_input_tokens", "input"),
        ("generation_tokens", "total_output_tokens", "output"),
    ):
        s, c = server.get(key), metrics.get(client_key)
        if not isinstance(s, int) or not isinstance(c, int):
            parts.append(f"{label}: not exposed")
        elif s == c:
            parts.append(f"{label} {s:,} = client")
        else:
            parts.append(f"{label} {s:,} vs client {c:,} ({s - c:+,})")
    window = "" if server.get("window") == "measured" else " (warm-up inside)"
    engine = text.inline(server.get("engine") or "?", 20)
    return f"{engine}: " + "; ".join(parts) + window


def _stat(section: Any, key: str, field: str) -> Any:
    value = section.get(key) if isinstance(section, dict) else None
    return value.get(field) if isinstance(value, dict) else None


def table(entries: list[ResultEntry]) -> str:
    rows = []
    for entry in entries:
        for index, section, run in telemetry_runs(entry):
            tele = run.get("telemetry")
            tele = tele if isinstance(tele, dict) else {}
            energy = tele.get("energy_per_output_token_j")
            rows.append(
                [
                    f"[{entry.rid}](#{entry.rid.lower()})",
                    entry.kind_label,
                    f"{text.cell(run.get('name'), 40)} ({section} {index})",
                    text.cell(tele.get("reason") and f"none: {tele['reason']}", 80)
                    if tele.get("reason")
                    else text.cell(tele.get("source"), 20),
                    text.num(_stat(tele, "power_w", "mean"), 1),
                    text.num(_stat(tele, "hbm_used_mib", "max"), 0),
                    text.num(energy, 4)
                    if energy is not None
                    else text.cell(tele.get("energy_note"), 80),
                    cross_check(run),
                ]
            )
    return markdown_table(HEADERS, rows)


def timeline_plot(entry: ResultEntry, index: int, run: dict[str, Any]) -> Plot | None:
    """Power, HBM, AI Core and the server's running/queued requests of one run."""
    tele = run.get("telemetry") if isinstance(run.get("telemetry"), dict) else {}
    server = run.get("server_metrics") if isinstance(run.get("server_metrics"), dict) else {}
    lines = [
        ("NPU power (W)", (tele.get("series") or {}).get("power_w")),
        ("HBM in use (MiB)", (tele.get("series") or {}).get("hbm_used_mib")),
        ("AI Core (%)", (tele.get("series") or {}).get("aicore_util_pct")),
        ("requests", None),
    ]
    server_series = server.get("series") or {}
    requests = [("running", server_series.get("running")), ("queued", server_series.get("queued"))]
    if not any(_points(s) for _, s in lines) and not any(_points(s) for _, s in requests):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True)
    duration = (run.get("metrics") or {}).get("duration_s")
    for ax, (label, series) in zip(axes, lines, strict=True):
        if label == "requests":
            drawn = 0
            for name, line in requests:
                t, v = _points(line)
                if t:
                    ax.step(t, v, where="post", label=name)
                    drawn += 1
            if drawn:
                ax.legend(loc="upper right", fontsize="small")
        else:
            t, v = _points(series)
            if t:
                ax.plot(t, v, marker=".", linewidth=1)
        ax.set_ylabel(label, fontsize="small")
        if isinstance(duration, int | float) and duration > 0:
            ax.axvspan(0, duration, alpha=0.12)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds from the measured window's start (shaded: the window)")
    kind = entry.kind_label
    fig.suptitle(f"{entry.rid}, run {index} ({kind})", fontsize="medium")
    fig.tight_layout()
    name = f"timeline-{entry.rid}-{index}.png"
    return Plot(
        name=name,
        heading=f"{entry.rid} run {index}: {text.inline(run.get('name'), 60)} ({kind})",
        alt=f"Telemetry timeline of {entry.rid} run {index} ({kind})",
        caption=f"NPU power, HBM in use, AI Core utilisation and the server's running and queued "
        f"requests of {entry.rid} run {index}, against time; every figure is {kind}.",
        png=png_of(fig),
    )


def _points(line: Any) -> tuple[list[float], list[float]]:
    if not isinstance(line, dict):
        return [], []
    t, v = line.get("t_s"), line.get("values")
    if not isinstance(t, list) or not isinstance(v, list) or len(t) != len(v):
        return [], []
    return t, v


def render_plots(entries: list[ResultEntry]) -> list[Plot]:
    out = []
    for entry in entries:
        for index, _section, run in telemetry_runs(entry):
            plot = timeline_plot(entry, index, run)
            if plot is not None:
                out.append(plot)
    return out


def section(entries: list[ResultEntry], plots: list[Plot], plots_dir: str) -> str:
    """The telemetry section, or "" when no valid result has telemetry."""
    if not any(telemetry_runs(e) for e in entries):
        return ""
    lines = [
        "## Telemetry: the NPU and the server's own counters",
        "",
        "Sampled while each run was measured (docs/telemetry.md): the NPU with npu-smi, the "
        "server's Prometheus counters at the measured window's edges. A simulated result's "
        "figures come from the simulator's model of its NPU, not from hardware.",
        "",
        table(entries),
        "",
    ]
    for plot in plots:
        if plot.name.startswith("timeline-"):
            lines += [f"### {plot.heading}", "", f"![{plot.alt}]({plots_dir}/{plot.name})", ""]
            lines += [plot.caption, ""]
    return "\n".join(lines)
