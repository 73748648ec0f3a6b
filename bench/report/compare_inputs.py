"""What `bench compare` names A and B: a result document, a directory of result documents
(repeats of one run), or a study cell (`STUDY_DIR:CELL_ID`: its repeats and probe runs as
study.json records them, each checked against the sha256 recorded there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.report.results import ResultEntry, read_entry

CELL_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Side:
    tag: str  # "A" | "B"
    named: str  # as the user named it
    entries: tuple[ResultEntry, ...]


def resolve_side(named: str, tag: str) -> Side:
    """The result documents `named` stands for (one or more)."""
    path = Path(named)
    if not path.exists() and ":" in named:
        where, _, cell = named.rpartition(":")
        if CELL_ID.match(cell):
            return Side(
                tag, named, tuple(_read(p, tag) for p in cell_documents(Path(where), cell, tag))
            )
    if path.is_dir():
        if (path / "study.json").is_file():
            raise InputError(
                f"{tag}: {path} is a study directory; name a cell as {path}:CELL_ID "
                "(the ids are in its summary.csv and study.json)"
            )
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise InputError(f"{tag}: no result documents (*.json) in {path}")
        return Side(tag, named, tuple(_read(p, tag) for p in files))
    if not path.is_file():
        raise InputError(f"{tag}: file not found: {path}")
    return Side(tag, named, (_read(path, tag),))


def _read(path: Path, tag: str) -> ResultEntry:
    entry = read_entry(path, tag, None)
    if entry.doc is None:
        raise InputError(f"{tag}: {path}: {entry.issues[0].message}")
    return entry


def cell_documents(study: Path, cell_id: str, tag: str) -> list[Path]:
    """The result documents of a study cell (its repeats and any probe runs of it), each
    checked against the sha256 study.json records."""
    from bench.jsonio import load_document, sha256_file

    study_json = study if study.suffix == ".json" else study / "study.json"
    if not study_json.is_file():
        raise InputError(f"{tag}: no study.json at {study}")
    doc = load_document(study_json)
    if "study_schema_version" not in doc:
        raise InputError(f"{tag}: {study_json} is not a study document")
    runs: dict[str, dict[str, Any]] = {}
    for cell in doc.get("cells") or []:
        if cell.get("id") == cell_id:
            runs.update({r["run_id"]: r for r in cell.get("repeats") or []})
    for search in doc.get("search") or []:
        for probe in search.get("probes") or []:
            if probe.get("cell_id") == cell_id:
                runs.update({r["run_id"]: r for r in probe.get("runs") or []})
    if not runs:
        raise InputError(f"{tag}: {study_json} has no run of cell {cell_id}")
    paths = []
    for run in sorted(runs.values(), key=lambda r: r["repeat"]):
        path = study_json.parent / run["path"]
        if not path.is_file() or sha256_file(path) != run["sha256"]:
            raise InputError(f"{tag}: {path} is missing or not the file study.json recorded")
        paths.append(path)
    return paths
