"""The package ships byte-for-byte copies of the top-level profiles, reference and schema.

The top-level files are the source of truth (users read and edit them there); the copies in
bench/ are what an installed kit reads. tools/sync_package_data.py writes them.
"""

from __future__ import annotations

import runpy

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def tool() -> dict:
    return runpy.run_path(str(REPO / "tools" / "sync_package_data.py"))


def test_the_package_copies_match_the_top_level_files(tool):
    stale = [p.relative_to(REPO).as_posix() for p in tool["stale"](REPO)]
    assert stale == [], "run `python tools/sync_package_data.py`"
    copies = {copy.relative_to(REPO).as_posix() for _, copy in tool["pairs"](REPO)}
    assert {
        "bench/profiles/seed.toml",
        "bench/profiles/quick.toml",
        "bench/data/reference/article-qwen2-7b-atlas800t-sglang.json",
        "bench/validate/result.schema.json",
        "bench/study/study.schema.json",
    } <= copies


def test_the_copies_are_what_the_kit_reads():
    from bench.report.results import DEFAULT_BASELINE
    from bench.validate.schema import SCHEMA_PATH
    from bench.workload.profile import PROFILES_DIR, resolve_profile_path

    assert resolve_profile_path("seed") == REPO / "bench" / "profiles" / "seed.toml"
    assert PROFILES_DIR == REPO / "bench" / "profiles"
    assert SCHEMA_PATH.resolve() == REPO / "bench" / "validate" / "result.schema.json"
    assert not SCHEMA_PATH.is_symlink()
    from bench.study.validate import SCHEMA_PATH as STUDY_SCHEMA

    assert STUDY_SCHEMA == REPO / "bench" / "study" / "study.schema.json"
    assert not STUDY_SCHEMA.is_symlink()
    reference = REPO / "results" / "reference" / "article-qwen2-7b-atlas800t-sglang.json"
    assert DEFAULT_BASELINE.read_bytes() == reference.read_bytes()


def test_sync_writes_missing_and_changed_copies_replaces_links_and_drops_orphans(tool, tmp_path):
    for rel, text in {
        "profiles/a.toml": "a = 1\n",
        "profiles/c.toml": "c = 1\n",
        "results/reference/r.json": "{}\n",
        "schema/result.schema.json": '{"new": true}\n',
        "bench/profiles/c.toml": "c = 0\n",  # changed
        "bench/profiles/orphan.toml": "x = 1\n",  # its top-level file is gone
        "bench/sim/profiles/own.toml": "kept = true\n",  # the package's own data
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    link = tmp_path / "bench" / "validate" / "result.schema.json"
    link.parent.mkdir(parents=True)
    link.symlink_to("../../schema/result.schema.json")  # same bytes, but not in every build

    expected = [
        "bench/profiles/a.toml",
        "bench/profiles/c.toml",
        "bench/data/reference/r.json",
        "bench/validate/result.schema.json",
        "bench/profiles/orphan.toml",
    ]
    assert [p.relative_to(tmp_path).as_posix() for p in tool["stale"](tmp_path)] == expected
    assert [p.relative_to(tmp_path).as_posix() for p in tool["sync"](tmp_path)] == expected
    assert tool["stale"](tmp_path) == []
    assert (tmp_path / "bench/profiles/c.toml").read_text() == "c = 1\n"
    assert not (tmp_path / "bench/profiles/orphan.toml").exists()
    assert not link.is_symlink() and link.read_text() == '{"new": true}\n'
    assert (tmp_path / "schema/result.schema.json").read_text() == '{"new": true}\n'
    assert (tmp_path / "bench/sim/profiles/own.toml").read_text() == "kept = true\n"
