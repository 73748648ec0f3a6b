"""Opening a study directory (new, or resumed with the same study file), wiring the real
launcher and cell runner to the engine, and the dry run that shows what would be launched.

A new study needs an --out directory that does not exist (or is empty); the study file is
copied there as `study.toml`. `--resume` needs the directory's `study.json`, and a study
file that resolves to the same study: otherwise it is refused, naming the keys that differ.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any

from bench import __version__
from bench.errors import InputError, OutputExistsError, UsageError
from bench.jsonio import load_document, sha256_file, write_atomic
from bench.study import document as docs
from bench.study import resume
from bench.study.commands import command_argv, compose_plan
from bench.study.plan import configurations, plan_cells
from bench.study.spec import Study, load_study
from bench.utc import utc_now, utc_stamp

COPY_NAME = "study.toml"


def default_out(study: Study, runs_dir: Path = Path("runs")) -> Path:
    return runs_dir / "studies" / f"{study.name}-{utc_stamp()}"


def open_new(study_path: Path, out: Path) -> dict[str, Any]:
    """Make `out` and copy the study file into it; the study document's `study_file`."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(out, "add --resume to continue that study, or name another --out")
    out.mkdir(parents=True, exist_ok=True)
    copy = write_atomic(out / COPY_NAME, study_path.read_bytes(), overwrite=False)
    return {"path": COPY_NAME, "sha256": sha256_file(copy), "source": str(study_path)}


def open_resumed(study: Study, out: Path) -> tuple[docs.Ledger, str, dict[str, Any]]:
    """The ledger and creation time of the study in `out`, when `study` is that study."""
    path = out / "study.json"
    if not path.is_file():
        raise InputError(f"{out} holds no study.json to resume (start it without --resume)")
    old = load_document(path)
    if "study_schema_version" not in old:
        raise InputError(f"{path} is not a study document")
    changed = resume.differences(old.get("study"), study.as_dict())
    if changed:
        shown = ", ".join(changed[:6]) + (
            f" and {len(changed) - 6} more" if len(changed) > 6 else ""
        )
        raise InputError(
            f"{study.path} is not the study in {out}: {shown} changed; "
            "restore the file, or run it with another --out"
        )
    _stop_left_behind(old, study)
    ledger = docs.Ledger()
    for cell in old.get("cells") or []:
        for entry in cell.get("repeats") or []:
            if isinstance(entry, dict) and isinstance(entry.get("run_id"), str):
                ledger.repeats[entry["run_id"]] = entry
    for state in old.get("configurations") or []:
        if isinstance(state, dict) and state.get("status") == "done":
            ledger.configurations[state["index"]] = {
                k: v for k, v in state.items() if k not in ("index", "key", "grid")
            }
    if old.get("kind") in ("measured", "simulated"):
        ledger.kinds.add(old["kind"])
    if study.search is not None:
        from bench.study.search_doc import restore

        restore(old, ledger)
    study_file = old.get("study_file") or {"path": COPY_NAME, "sha256": None}
    return ledger, str(old.get("created_utc") or utc_now()), study_file


def _stop_left_behind(old: dict[str, Any], study: Study) -> None:
    """A crashed session's server still running (the document recorded its pid): stop it."""
    import sys

    from bench.study.process import stop_left_behind

    for state in old.get("configurations") or []:
        pid, argv = state.get("pid"), state.get("launch_command")
        if isinstance(pid, int) and isinstance(argv, list):
            said = stop_left_behind(pid, argv, study.server.stop_timeout_s)
            if said:
                sys.stderr.write(f"bench study: {said}\n")


def run_study(
    study_path: Path,
    out: Path | None,
    *,
    resume_it: bool,
    submitter: str,
    command: list[str],
):
    """Run (or resume) the study in `study_path`; the engine's Outcome."""
    study = load_study(study_path)
    cells = plan_cells(study)
    if resume_it:
        if out is None:
            raise UsageError("--resume needs --out DIR, the study directory to continue")
        ledger, created, study_file = open_resumed(study, out)
    else:
        out = out or default_out(study)
        study_file = open_new(study_path, out)
        ledger, created = docs.Ledger(), utc_now()
    engine = make_engine(study, out, ledger, created, study_file, submitter, command)
    engine.say(
        f"{study.name}: {len(cells)} cells x {study.head.repeats} repeats "
        f"({len(configurations(study))} configurations), writing to {out}"
    )
    return engine.execute()


def make_engine(
    study: Study,
    out: Path,
    ledger: docs.Ledger,
    created: str,
    study_file: dict[str, Any],
    submitter: str,
    command: list[str],
    say=None,
):
    """The engine with the real launcher and cell runner (`bench study`, `bench slo`)."""
    from bench.study.cell import DocumentRunner
    from bench.study.engine import Engine
    from bench.study.launchers import launcher_for

    return Engine(
        study,
        plan_cells(study),
        out,
        launcher_for(study.server, out / "servers"),
        DocumentRunner(study, submitter, command),
        ledger=ledger,
        created_utc=created,
        study_file=study_file,
        provenance={"kit_version": __version__, "command": shlex.join(command)},
        hbm=_hbm_guard(study),
        say=say,
    )


def _hbm_guard(study: Study):
    if study.server.launcher == "external" or shutil.which("npu-smi") is None:
        return None
    from bench.study.hbm import HbmGuard

    return HbmGuard(study.server.hbm_tolerance_mib, study.server.hbm_settle_timeout_s)


def dry_run(study_path: Path, out: Path | None) -> str:
    """What the study would launch and measure, without running anything."""
    study = load_study(study_path)
    cells = plan_cells(study)
    out = out or default_out(study)
    lines = [
        f"study {study.name}: {len(cells)} cells x {study.head.repeats} repeats, "
        f"launcher {study.server.launcher}, into {out}"
    ]
    for configuration in configurations(study):
        values = configuration.as_dict
        lines.append(f"configuration {configuration.index}: {configuration.label}")
        if study.server.launcher == "command":
            port = study.server.port or "PORT"
            lines.append("  " + shlex.join(command_argv(study.server, values, port)))
        elif study.server.launcher == "compose":
            workdir = out / "servers" / configuration.key
            plan = compose_plan(study.server, values, workdir)
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env.items())
            lines.append(f"  write {plan.devices_file}:")
            lines += [f"    {line}" for line in plan.devices_yaml.splitlines()]
            for argv in (plan.up, plan.stop, plan.rm):
                lines.append(f"  {env} {shlex.join(argv)}")
        else:
            lines.append(f"  (already running at {study.server.base_url})")
        mine = [c for c in cells if c.configuration.index == configuration.index]
        lines += [f"  cell {c.id}: {c.workload_name}, {c.load.label}" for c in mine]
    return "\n".join(lines)
