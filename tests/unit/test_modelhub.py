"""The pure parts of `bench model`: what counts as pinned, the manifest format, and what a
manifest check refuses. No network: the download itself is tested against a stand-in hub
in tests/integration/test_model_download.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bench import modelhub
from bench.errors import InputError, UsageError

BRANCHES = [{"Revision": "master", "CommitId": "a" * 40}]
TAGS = [{"Revision": "v1.0.0", "CommitId": "b" * 40}]


def test_tags_and_commit_ids_are_pinned_branches_are_not():
    tag = modelhub.classify_revision("v1.0.0", BRANCHES, TAGS)
    assert (tag.kind, tag.pinned, tag.commit) == ("tag", True, "b" * 40)
    branch = modelhub.classify_revision("master", BRANCHES, TAGS)
    assert (branch.kind, branch.pinned, branch.commit) == ("branch", False, "a" * 40)
    commit = modelhub.classify_revision("c" * 40, BRANCHES, TAGS)
    assert (commit.kind, commit.pinned) == ("commit", True)


def test_a_short_or_unknown_revision_is_refused_with_the_choices():
    with pytest.raises(InputError, match=r"no revision 'c0ffee'.*v1\.0\.0, master"):
        modelhub.classify_revision("c0ffee", BRANCHES, TAGS)


@pytest.mark.parametrize("model_id", ["Qwen2-7B", "a/b/c", "../etc", "a/..", "/abs/x", ""])
def test_a_model_id_must_be_owner_slash_name(model_id):
    with pytest.raises(UsageError, match="owner/name"):
        modelhub.model_dir(Path("models"), model_id)


def test_model_dir_is_owner_and_name_below_models_dir():
    assert modelhub.model_dir(Path("m"), "Qwen/Qwen2-7B-Instruct") == Path(
        "m/Qwen/Qwen2-7B-Instruct"
    )


def test_manifest_round_trips_in_sha256sum_format():
    entries = [("a.json", "0" * 64), ("sub/b.bin", "f" * 64)]
    text = modelhub.format_manifest(entries)
    assert text == f"{'0' * 64}  a.json\n{'f' * 64}  sub/b.bin\n"
    assert modelhub.parse_manifest(text) == dict(entries)
    assert modelhub.parse_manifest(f"{'0' * 64} *a.json\n") == {"a.json": "0" * 64}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "lists no files"),
        ("not a manifest\n", ":1: not a"),
        (f"{'0' * 63}  short.json\n", ":1: not a"),
        (f"{'0' * 64}  a\n{'1' * 64}  a\n", ":2: a is listed twice"),
        (f"{'0' * 64}  ../outside\n", "leaves the model directory"),
        (f"{'0' * 64}  /etc/passwd\n", "leaves the model directory"),
    ],
)
def test_a_malformed_manifest_is_refused_naming_the_line(text, problem):
    with pytest.raises(InputError, match=problem):
        modelhub.parse_manifest(text)


def model_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text("{}")
    (root / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    (root / ".cache").mkdir()
    (root / ".cache" / "lock").write_text("")
    (root / "weights.bin.incomplete").write_bytes(b"\x00")
    return root


def test_manifest_covers_model_files_only(tmp_path):
    root = model_tree(tmp_path / "m")
    hashes = modelhub.write_manifest(root)
    assert hashes == {
        "config.json": hashlib.sha256(b"{}").hexdigest(),
        "sub/weights.bin": hashlib.sha256(b"\x00\x01").hexdigest(),
    }
    assert modelhub.verify_manifest(root) == hashes


def test_verify_refuses_a_missing_a_changed_and_an_extra_file(tmp_path):
    root = model_tree(tmp_path / "m")
    modelhub.write_manifest(root)

    (root / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(InputError, match=r"extra\.safetensors: not in MANIFEST"):
        modelhub.verify_manifest(root)
    (root / "extra.safetensors").unlink()

    (root / "sub" / "weights.bin").write_bytes(b"\x00\x02")
    with pytest.raises(InputError, match=r"weights\.bin: corrupted"):
        modelhub.verify_manifest(root)

    (root / "sub" / "weights.bin").unlink()
    with pytest.raises(InputError, match=r"weights\.bin: listed in MANIFEST\.sha256 but missing"):
        modelhub.verify_manifest(root)


def test_a_directory_holding_another_revision_is_not_reused(tmp_path):
    root = model_tree(tmp_path / "Qwen" / "Tiny")
    modelhub.write_manifest(root)
    (root / "MODEL_SOURCE.json").write_text('{"requested_revision": "v1.0.0"}')
    request = modelhub.ModelRequest("Qwen/Tiny", "v2.0.0", tmp_path)
    with pytest.raises(UsageError, match=r"holds revision 'v1\.0\.0', not 'v2\.0\.0'"):
        modelhub.ensure_model(request, log=lambda _: None)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"pinned": True, "requested_revision": "v1.0.0"}, "v1.0.0"),
        ({"pinned": False, "requested_revision": "master", "resolved_commit": "a" * 40}, "a" * 40),
        ({"pinned": False, "requested_revision": "master", "resolved_commit": None}, None),
    ],
)
def test_model_provenance_gives_a_commit_or_tag_never_a_branch(tmp_path, record, expected):
    (tmp_path / "MODEL_SOURCE.json").write_text(json.dumps({"source": "modelscope", **record}))
    assert modelhub.model_provenance(tmp_path) == {"source": "modelscope", "revision": expected}


def test_model_provenance_is_none_for_a_directory_bench_model_did_not_fill(tmp_path):
    assert modelhub.model_provenance(tmp_path) is None
