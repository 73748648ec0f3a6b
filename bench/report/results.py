"""Loading result documents for the report: find, read, validate, label.

The report reads result documents only (of raw records it only hashes the files a
document names, to verify them: `with_trust`). Every document goes through the validator;
a document that cannot be read at all becomes an invalid entry with the reason, so one bad
file never hides the others and never stops the report.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import InputError, UsageError
from bench.jsonio import load_document, sha256_file
from bench.trust.verify import ALLOWED_SIGNERS, Verification, verify_submission
from bench.validate import validate_document

# The article's `reported` baseline: the package's copy of the repository's
# results/reference/article-qwen2-7b-atlas800t-sglang.json (tools/sync_package_data.py writes
# it), so an installed kit has it too. In the repository the copy in results/ has the same
# bytes and is recognised as the baseline by its sha256 (see load_entries).
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
DEFAULT_BASELINE = REFERENCE_DIR / "article-qwen2-7b-atlas800t-sglang.json"

KINDS = ("measured", "simulated", "reported")
# `bench report`'s index of the results (bench.report.index): never a result document.
INDEX_NAME = "index.json"


@dataclass(frozen=True)
class Issue:
    """One validator finding, reduced to what the report shows."""

    level: str  # 'error' | 'warning'
    pointer: str
    message: str


def kind_of(doc: dict[str, Any] | None) -> str:
    """The document's `kind`, or 'unknown' when it is missing or not one of KINDS."""
    kind = (doc or {}).get("kind")
    return kind if kind in KINDS else "unknown"


class HasIssues:
    """`errors` and `warnings` of a dataclass with an `issues` field."""

    issues: tuple[Issue, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.level == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.level != "error")


@dataclass(frozen=True)
class ResultEntry(HasIssues):
    """One result document as the report sees it."""

    rid: str  # short label used everywhere in the report: R1, R2, ...
    path: Path  # where it was read from
    link: str  # path relative to the report's directory (POSIX), for links and display
    sha256: str  # of the file's bytes
    doc: dict[str, Any] | None  # None when the file could not be read
    issues: tuple[Issue, ...]
    is_baseline: bool = False
    in_results: bool = True  # False for the baseline when it was read from elsewhere
    trust: Verification | None = None  # signature and records, for documents in the results

    @property
    def kind(self) -> str:
        return kind_of(self.doc)

    @property
    def kind_label(self) -> str:
        """The kind as the report shows it: a simulator run faster than real time says so.

        `bench sim --speed F` divides every duration by F, so its throughputs are F times
        and its latencies 1/F times what the simulated hardware would give.
        """
        speed = self.simulator_speed
        if self.kind == "simulated" and speed is not None and speed != 1:
            return f"simulated ×{speed:g} speed"
        return self.kind

    @property
    def simulator_speed(self) -> float | None:
        """`server.self_report.simulator.speed` of a simulated run, when it says."""
        value: Any = self.doc
        for key in ("server", "self_report", "simulator", "speed"):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    @property
    def valid(self) -> bool:
        return self.doc is not None and not self.errors


def find_result_files(results_dir: Path) -> list[Path]:
    """Every `*.json` under `results_dir`, in a fixed order (sorted POSIX relative paths).

    Symbolic links are skipped: a submission is a file, and a link could make the report
    read (and quote from) a file outside the results. So is `index.json`, the report's index.
    """
    if not results_dir.is_dir():
        raise UsageError(f"results directory not found: {results_dir}")
    files = [
        p
        for p in results_dir.rglob("*.json")
        if p.is_file() and not p.is_symlink() and p.name != INDEX_NAME
    ]
    return sorted(files, key=lambda p: p.relative_to(results_dir).as_posix())


def read_entry(
    path: Path,
    rid: str,
    link_base: Path | None,
    *,
    is_baseline: bool = False,
) -> ResultEntry:
    """Read and validate one document; a file that cannot be read becomes an invalid entry.

    `link` is the path relative to `link_base`, or the path as given when that is None.
    """
    if link_base is None:
        link = path.as_posix()
    else:
        link = Path(os.path.relpath(path.resolve(), link_base.resolve())).as_posix()
    try:
        doc = load_document(path)
    except InputError as exc:
        issue = Issue("error", "", str(exc))
        return ResultEntry(rid, path, link, sha256_file(path), None, (issue,), is_baseline)
    issues = tuple(
        Issue(str(f.level), str(f.pointer), str(f.message))
        for f in validate_document(doc, file=link)
    )
    return ResultEntry(rid, path, link, sha256_file(path), doc, issues, is_baseline)


def load_entries(
    results_dir: Path,
    report_dir: Path,
    baseline: Path | None = DEFAULT_BASELINE,
) -> list[ResultEntry]:
    """All documents under `results_dir`, plus the baseline if it is not among them.

    The baseline is recognised by content (sha256), so a copy of it in the results is the
    baseline, not a second document. Entries are numbered R1, R2, ... in sorted path order,
    the baseline first when it comes from outside `results_dir`. A missing default baseline
    is not an error (the report says so); the CLI checks a baseline the user named.
    """
    files = find_result_files(results_dir)
    base = baseline if baseline is not None and baseline.is_file() else None
    base_sha = sha256_file(base) if base is not None else None
    shas = [sha256_file(p) for p in files]
    ordered: list[tuple[Path, bool, bool]] = []  # path, is baseline, in results
    if base is not None and base_sha not in shas:
        ordered.append((base, True, False))
    first = shas.index(base_sha) if base_sha in shas else -1
    ordered += [(p, i == first, True) for i, p in enumerate(files)]
    entries = []
    for path, is_base, inside in ordered:
        entry = read_entry(path, f"R{len(entries) + 1}", report_dir, is_baseline=is_base)
        if entry.doc is not None and "study_schema_version" in entry.doc:
            continue  # a study's study.json: `bench report --results STUDY_DIR` reports it
        entry = dataclasses.replace(entry, in_results=inside)
        entries.append(with_trust(entry, results_dir / ALLOWED_SIGNERS) if inside else entry)
    return entries


def with_trust(entry: ResultEntry, allowed_signers: Path) -> ResultEntry:
    """The entry with its signature and records checked (`bench.trust.verify`); what fails
    them is an error, so a submission failing verification is invalid and unranked."""
    try:
        trust = verify_submission(entry.path, allowed_signers, display=entry.link)
    except InputError:
        return entry  # unreadable: read_entry has said so
    failed = tuple(Issue("error", "", failure) for failure in trust.failures)
    return dataclasses.replace(entry, trust=trust, issues=entry.issues + failed)
