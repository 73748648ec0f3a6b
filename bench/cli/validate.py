"""Check result documents against the JSON Schema and for internal consistency.

Each FILE is read as untrusted input (10 MiB limit, strict UTF-8, no duplicate keys, no
NaN/Infinity, an object at the top). A DIRECTORY is expanded to every *.json file below
it, sorted (except `index.json`, which `bench report` writes). Findings print one per
line, `FILE: LEVEL POINTER: message` (POINTER is an RFC 6901 JSON pointer; `(root)` for
the whole document), then a summary line.

Schema violations are errors. Consistency findings (throughput vs tokens and duration,
percentile order, TTFT + TPOT x (N_out - 1) vs E2E, Little's law, request rate, memory
within HBM and mem_fraction_static, KV and weight sizes, physical bounds) are errors for
`measured` and `simulated` documents and warnings for `reported` ones. A run's records
file, when it is where the document says, must have the recorded sha256, and the metrics
recomputed from it must match the document's. A `measured` document's provenance is
checked too: the environment capture complete or saying why not, the kit commit recorded
(and present in the kit's git history when the kit runs from a full checkout), a clean
tree, the image digest and a model revision that is a commit or tag (docs/submitting.md).

A study's `study.json` is checked against its own schema (schema/study.schema.json) and
for consistency: statistics against their repeats, intervals holding their means, the
Pareto fronts, and each result document it names (sha256 and metrics). See
docs/studies.md.

Exit status: 0 every document is valid (warnings allowed), 1 any document is invalid or
unreadable, 2 usage error (no FILE, an unknown flag, a directory with no *.json file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="FILE", help="result documents or directories")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the findings as one JSON array of {file, level, pointer, message}",
    )


def expand(paths: list[str]) -> list[Path]:
    """Files as given; directories replaced by their *.json files (not `bench report`'s
    index.json), sorted."""
    from bench.report.results import INDEX_NAME

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file() and p.name != INDEX_NAME)
            if not found:
                raise UsageError(f"{raw}: directory holds no *.json file")
            files.extend(found)
        else:
            files.append(path)
    return files


def run(args: argparse.Namespace) -> int:
    from bench.validate import is_valid, validate_file

    files = expand(args.paths)
    per_file = {str(f): validate_file(f) for f in files}
    findings = [f for found in per_file.values() for f in found]
    invalid = sum(1 for found in per_file.values() if not is_valid(found))
    if args.json:
        sys.stdout.write(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
    else:
        for f in findings:
            sys.stdout.write(f"{f.file}: {f.level} {f.pointer or '(root)'}: {f.message}\n")
        errors = sum(1 for f in findings if f.level == "error")
        warnings = len(findings) - errors
        sys.stdout.write(
            f"{len(files)} file(s) checked: {len(files) - invalid} valid, {invalid} invalid "
            f"({errors} error(s), {warnings} warning(s))\n"
        )
    return 1 if invalid else 0
