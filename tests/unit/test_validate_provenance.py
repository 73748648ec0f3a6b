"""Provenance checks of measured documents: complete or says why, kit commit, image, model.

The kit-commit check runs against git repositories built in tmp (one commit, a shallow
clone of it, a plain directory), so its three answers are each seen without depending on
how this checkout was cloned.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import report_docs as docs
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.system.capture import capture_environment
from bench.system.git import kit_checkout
from bench.validate import validate_document
from bench.validate.checks_provenance import (
    check_capture_complete,
    check_image_digest,
    check_kit_commit_recorded,
    check_model_revision,
)
from bench.validate.kit_commit import kit_commit_issues


def _findings(doc: dict) -> dict[str, str]:
    return {f.pointer: f.level for f in validate_document(doc)}


def test_a_complete_measured_document_draws_no_provenance_finding():
    doc = docs.with_provenance(docs.with_records_hashes(docs.measured()))
    assert validate_document(doc) == []


def test_a_null_without_a_reason_is_an_error_and_a_reason_makes_it_a_fact():
    doc = docs.measured()
    doc["system"]["accelerator"]["driver_version"] = None
    assert _findings(doc)["/system/accelerator/driver_version"] == "error"
    (issue,) = check_capture_complete(doc)
    assert "system.missing gives no reason" in issue.message
    doc["system"]["missing"]["accelerator"] = "npu-smi not found"  # a parent key covers it
    assert check_capture_complete(doc) == []


def test_a_null_kit_commit_needs_a_reason_and_then_warns_with_it():
    doc = docs.measured()
    doc["provenance"]["git_commit"] = None
    assert _findings(doc)["/provenance/git_commit"] == "error"
    doc["software"]["missing"]["provenance.git_commit"] = "not a git checkout"
    assert _findings(doc)["/provenance/git_commit"] == "warning"
    (issue,) = check_kit_commit_recorded(doc)
    assert "not a git checkout" in issue.message


def test_a_dirty_tree_is_a_warning():
    doc = docs.measured()
    doc["provenance"]["git_dirty"] = True
    assert _findings(doc)["/provenance/git_dirty"] == "warning"
    (issue,) = check_kit_commit_recorded(doc)
    assert "uncommitted changes" in issue.message and "7ce42a7" in issue.message


def test_an_image_without_digest_warns_with_the_reason_and_no_container_is_fine():
    doc = docs.measured()
    (issue,) = check_image_digest(doc)
    assert issue.pointer == "/software/image/digest" and "(not recorded)" in issue.message
    doc["software"]["image"] = {"name": None, "digest": None}
    doc["software"]["missing"] = {"image": "the server ran on the host, not in a container"}
    assert check_image_digest(doc) == [] and check_capture_complete(doc) == []


@pytest.mark.parametrize(
    ("revision", "warned"),
    [
        (None, True),
        ("0123456789abcdef0123456789abcdef01234567", False),
        ("0123abc", False),
        ("v1.0.0", False),
        ("1.1", False),
        ("refs/tags/v2.0.1-rc1", False),
        ("dev", True),
        ("feature/new-weights", True),
    ],
)
def test_the_model_revision_is_a_commit_or_a_tag(revision, warned):
    doc = docs.measured()
    doc["model"]["revision"] = revision
    assert bool(check_model_revision(doc)) is warned


def test_simulated_and_reported_documents_keep_their_findings():
    simulated = docs.simulated()
    simulated["provenance"]["git_dirty"] = True
    simulated["software"]["cann_version"] = None
    simulated["software"]["missing"] = {}
    reported = docs.article()
    for doc in (simulated, reported):
        for check in (
            check_capture_complete,
            check_kit_commit_recorded,
            check_image_digest,
            check_model_revision,
        ):
            assert check(doc) == [], (doc["kind"], check.__name__)
        assert kit_commit_issues(doc) == []


def test_the_kits_own_capture_is_complete_or_says_why():
    """Whatever this machine lacks (an NPU, CANN, Docker), the capture gives its reasons."""
    doc = copy.deepcopy(docs.measured())
    doc.update(capture_environment())
    assert check_capture_complete(doc) == []


# --- the kit commit against a git history ---------------------------------------------


def _run(*args: str, cwd: Path) -> str:
    return subprocess.run(
        args, cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "kit"
    repo.mkdir()
    _run("git", "init", "-q", cwd=repo)
    (repo / "a.txt").write_text("one\n", "utf-8")
    _run("git", "add", "a.txt", cwd=repo)
    _run(
        "git", "-c", "user.name=t", "-c", "user.email=t@example.com",
        "commit", "-q", "-m", "one", cwd=repo,
    )  # fmt: skip
    return repo, _run("git", "rev-parse", "HEAD", cwd=repo)


def _with_commit(commit: str) -> dict:
    doc = docs.measured()
    doc["provenance"]["git_commit"] = commit
    return doc


def test_a_commit_in_the_history_passes_full_or_abbreviated(history):
    repo, head = history
    assert kit_commit_issues(_with_commit(head), repo) == []
    assert kit_commit_issues(_with_commit(head[:10]), repo) == []


def test_a_commit_absent_from_a_full_history_is_an_error(history):
    repo, _head = history
    ((level, issue),) = kit_commit_issues(_with_commit("0" * 40), repo)
    assert level == "error" and issue.pointer == "/provenance/git_commit"
    assert "does not exist in the kit's git history" in issue.message


def test_a_shallow_clone_cannot_tell_so_it_warns(history, tmp_path):
    repo, _head = history
    (repo / "a.txt").write_text("two\n", "utf-8")
    _run(
        "git", "-c", "user.name=t", "-c", "user.email=t@example.com",
        "commit", "-q", "-am", "two", cwd=repo,
    )  # fmt: skip
    shallow = tmp_path / "shallow"
    _run("git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow), cwd=tmp_path)
    ((level, issue),) = kit_commit_issues(_with_commit("0" * 40), shallow)
    assert level == "warning" and "shallow" in issue.message


def test_outside_a_checkout_it_warns_that_it_cannot_check(tmp_path):
    plain = tmp_path / "site-packages"
    plain.mkdir()
    ((level, issue),) = kit_commit_issues(_with_commit("0" * 40), plain)
    assert level == "warning" and "cannot be checked here" in issue.message


def test_a_kit_inside_another_repository_is_not_checked_against_it(history):
    repo, head = history
    inner = repo / "venv" / "site-packages"
    inner.mkdir(parents=True)
    ((level, issue),) = kit_commit_issues(_with_commit(head), inner)
    assert level == "warning" and "not the top of a git checkout" in issue.message


def test_the_fixtures_commit_is_in_this_kits_history():
    """The measured fixture names a real commit of the kit (so `bench validate` passes it)."""
    complete, _why = kit_checkout()
    if complete:
        assert kit_commit_issues(docs.measured()) == []
    else:  # an installed kit, or a shallow clone: it cannot tell, and says so
        assert kit_commit_issues(docs.measured())[0][0] == "warning"


# --- hostile values where provenance lives ---------------------------------------------

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_PLACES = [
    ("system",), ("system", "missing"), ("system", "accelerator"), ("system", "host"),
    ("software",), ("software", "missing"), ("software", "image"), ("software", "engine"),
    ("provenance",), ("provenance", "git_commit"), ("provenance", "git_dirty"),
    ("model",), ("model", "revision"),
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PLACES), _VALUES), min_size=1, max_size=3))
def test_any_value_where_provenance_lives_gives_findings_never_an_exception(replacements):
    doc = docs.measured()
    for place, value in replacements:
        node = doc
        for key in place[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[place[-1]] = value
    for finding in validate_document(doc, "fuzz.json"):
        assert "\n" not in finding.message
    for level, issue in kit_commit_issues(doc):
        assert level in ("error", "warning") and "\n" not in issue.message
