"""`bench slo`: the study search against one running server, without a study file.

The command's flags become a study (an external launcher at the server's URL, one
workload, no grid, no sweep, the `[search]` the flags give), run by the same engine, cell
runner and search as `bench study`: every run is a validated result document under
`--out`, `study.json` holds the search and its probes, `search.csv` one row per run, and
`--resume` with the same flags continues an interrupted search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import OutputExistsError
from bench.slo.spec import SearchSpec
from bench.study import document as docs
from bench.study.spec import LoadSection, ServerSection, Study, StudyHead
from bench.workload.profile import ThroughputRun


def slo_study(
    server: ServerSection, run: ThroughputRun, search: SearchSpec, load: LoadSection
) -> Study:
    head = StudyHead(
        name="slo",
        description=f"bench slo: {search.slo.text} over {search.axis} against {server.base_url}",
        repeats=1,
    )
    return Study(head, server, (), (run,), load, "bench slo", search=search)


def run_slo(
    study: Study,
    out: Path,
    *,
    resume_it: bool,
    submitter: str,
    command: list[str],
    say: Any,
):
    """Run (or resume) the search; the engine's Outcome."""
    from bench.study.session import make_engine, open_resumed
    from bench.utc import utc_now

    if resume_it:
        ledger, created, study_file = open_resumed(study, out)
    else:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise OutputExistsError(
                out, "add --resume to continue that search, or name another --out"
            )
        out.mkdir(parents=True, exist_ok=True)
        ledger, created = docs.Ledger(), utc_now()
        study_file = {"path": None, "sha256": None, "source": None}
    engine = make_engine(study, out, ledger, created, study_file, submitter, command, say)
    return engine.execute()


def answer_lines(entry: dict[str, Any], speed: float | None) -> list[str]:
    """The answer of one search, as `bench slo` prints it."""
    from bench.study.plan import LoadLevel

    def load(x: float | None) -> str:
        return "none" if x is None else LoadLevel(entry["axis"], x, None).label

    lo, hi = entry["largest_passing"], entry["smallest_failing"]
    lines = [f"largest passing load: {load(lo)}; smallest failing load: {load(hi)}"]
    if lo is not None:
        parts = [f"goodput {_num(entry['goodput_rps'], 3)} req/s meeting every SLO"]
        parts.append(f"attainment {_num(entry['attainment'], 3)}")
        if entry["output_throughput_per_npu_tok_s"] is not None:
            parts.append(
                f"{_num(entry['output_throughput_per_npu_tok_s'], 1)} output tok/s per NPU"
            )
        else:
            parts.append(f"{_num(entry['output_throughput_tok_s'], 1)} output tok/s (NPUs unknown)")
        lines.append(f"at {load(lo)}: " + ", ".join(parts))
    lines.append(
        f"{entry['loads_probed']} loads probed, {entry['runs']} runs; result {entry['result']}"
    )
    lines += [f"note: {n}" for n in entry["notes"]]
    if speed is not None and speed != 1:
        lines.append(
            f"simulated x{speed:g} speed: the bounds applied to the times as measured, "
            f"1/{speed:g} of the simulated hardware's"
        )
    return lines


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"
