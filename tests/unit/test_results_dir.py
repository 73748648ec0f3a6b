"""What results/ holds is what `bench submit` would have filed (results/README.md's rules)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.jsonio import load_document
from bench.report.results import find_result_files
from bench.report.submit import relative_destination
from bench.validate import validate_file


def _documents(results: Path) -> list[Path]:
    """Every result document (not index.json, which `bench report` writes)."""
    return find_result_files(results)


def test_every_result_is_valid(repo):
    for path in _documents(repo / "results"):
        errors = [f for f in validate_file(path) if f.level == "error"]
        assert errors == [], f"{path.relative_to(repo)}: {errors}"


def test_references_are_reported_and_community_results_are_named_by_convention(repo):
    results = repo / "results"
    for path in _documents(results):
        rel = path.relative_to(results)
        doc = load_document(path)
        if rel.parts[0] == "reference":
            assert doc["kind"] == "reported", rel
            continue
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert rel == relative_destination(doc, sha), f"{rel} is not named by convention"
