"""Model download from ModelScope at a pinned revision, with a manifest of what arrived.

A benchmark result names the weights it ran; "latest" is not a name. So `bench model`
downloads `MODEL` at a revision that cannot move (a commit id or a tag of the hub),
refuses a branch such as `master` unless asked to, and records what a branch resolved
to. Afterwards every file's SHA-256 goes into `MANIFEST.sha256` (the `sha256sum`
format, so `sha256sum -c MANIFEST.sha256` checks it too) and the request into
`MODEL_SOURCE.json`. A second run verifies the files against the manifest instead of
downloading; a file that changed is refused by name.

The download itself is ModelScope's `snapshot_download`, which resumes partial files and
checks each file against the hash the hub lists. The directory is `MODELS_DIR/<owner>/<name>`,
served as a local path (`--model-path`), so SGLang's `SGLANG_USE_MODELSCOPE` is not needed:
with it SGLang would fetch the model itself, at no pinned revision and with no manifest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.errors import BenchError, InputError, UsageError
from bench.jsonio import load_document, sha256_file, write_atomic, write_json_atomic
from bench.units import GIB
from bench.utc import utc_now

MANIFEST_NAME = "MANIFEST.sha256"
SOURCE_NAME = "MODEL_SOURCE.json"
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


@dataclass(frozen=True)
class Revision:
    """What a requested revision is on the hub: a commit, a tag or a branch."""

    name: str
    kind: str  # 'commit' | 'tag' | 'branch'
    commit: str | None  # the commit id, when known

    @property
    def pinned(self) -> bool:
        return self.kind in ("commit", "tag")


@dataclass(frozen=True)
class ModelRequest:
    model_id: str
    revision: str
    models_dir: Path
    allow_unpinned: bool = False
    endpoint: str | None = None  # None: ModelScope's default (or MODELSCOPE_ENDPOINT)
    repair: bool = False  # fetch files that fail the manifest again


def model_dir(models_dir: Path, model_id: str) -> Path:
    """`MODELS_DIR/<owner>/<name>`; the id must be exactly `owner/name`."""
    if not _MODEL_ID.match(model_id) or ".." in model_id:
        raise UsageError(f"model id {model_id!r} is not of the form owner/name")
    return Path(models_dir) / model_id


def classify_revision(revision: str, branches: list[dict], tags: list[dict]) -> Revision:
    """Name the kind of `revision` from the hub's branch and tag lists (pure)."""

    def commit_of(item: dict) -> str | None:
        value = item.get("CommitId") or item.get("Commit") or item.get("Sha")
        return str(value) if value else None

    for item in tags:
        if item.get("Revision") == revision:
            return Revision(revision, "tag", commit_of(item))
    for item in branches:
        if item.get("Revision") == revision:
            return Revision(revision, "branch", commit_of(item))
    if _COMMIT.match(revision):
        return Revision(revision, "commit", revision)
    known = ", ".join(str(i.get("Revision")) for i in tags + branches) or "none"
    raise InputError(
        f"the hub has no revision {revision!r} (tags and branches: {known}); "
        "give a 40-hex commit id or one of these tags"
    )


def manifest_files(directory: Path) -> list[str]:
    """Relative paths of the model's files, sorted; dot-files and the kit's own files excluded."""
    out = []
    for path in directory.rglob("*"):
        rel = path.relative_to(directory)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if rel.as_posix() in (MANIFEST_NAME, SOURCE_NAME) or path.name.endswith(".incomplete"):
            continue
        out.append(rel.as_posix())
    return sorted(out)


def format_manifest(hashes: Iterable[tuple[str, str]]) -> str:
    """`sha256sum` format: `<hex>  <path>` per line (pure)."""
    return "".join(f"{digest}  {rel}\n" for rel, digest in hashes)


def parse_manifest(text: str, source: str = MANIFEST_NAME) -> dict[str, str]:
    """Inverse of `format_manifest`; a malformed line is an InputError naming it."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _MANIFEST_LINE.match(line)
        if not match:
            raise InputError(f"{source}:{number}: not a `<sha256>  <path>` line")
        digest, rel = match.groups()
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise InputError(f"{source}:{number}: path {rel!r} leaves the model directory")
        if rel in entries:
            raise InputError(f"{source}:{number}: {rel} is listed twice")
        entries[rel] = digest
    if not entries:
        raise InputError(f"{source} lists no files")
    return entries


def hash_files(directory: Path) -> dict[str, str]:
    hashes = {rel: sha256_file(directory / rel) for rel in manifest_files(directory)}
    if not hashes:
        raise BenchError(f"{directory} holds no model files after the download")
    return hashes


def write_manifest(directory: Path, hashes: dict[str, str] | None = None) -> dict[str, str]:
    hashes = hash_files(directory) if hashes is None else hashes
    write_atomic(
        directory / MANIFEST_NAME,
        format_manifest(sorted(hashes.items())).encode("utf-8"),
        overwrite=True,
    )
    return hashes


def verify_manifest(directory: Path) -> dict[str, str]:
    """Check every file against MANIFEST.sha256; the first difference is an InputError."""
    manifest_path = directory / MANIFEST_NAME
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {manifest_path}: {exc}") from exc
    expected = parse_manifest(text, str(manifest_path))
    for rel, digest in expected.items():
        path = directory / rel
        if not path.is_file():
            raise InputError(f"{path}: listed in {MANIFEST_NAME} but missing")
        actual = sha256_file(path)
        if actual != digest:
            raise InputError(
                f"{path}: corrupted (sha256 {actual[:12]}..., {MANIFEST_NAME} says "
                f"{digest[:12]}...)"
            )
    extra = sorted(set(manifest_files(directory)) - set(expected))
    if extra:
        raise InputError(f"{directory / extra[0]}: not in {MANIFEST_NAME} (unexpected file)")
    return expected


def read_source(directory: Path) -> dict | None:
    path = directory / SOURCE_NAME
    return load_document(path) if path.exists() else None


def model_provenance(directory: Path) -> dict | None:
    """The schema's `model.source` and `model.revision` for a directory `bench model` filled.

    The revision is a commit or tag, never a branch name: a branch download gives its
    resolved commit, or None when the hub did not name one. None without MODEL_SOURCE.json.
    """
    record = read_source(Path(directory))
    if record is None:
        return None
    if record.get("pinned"):
        revision = record.get("requested_revision")
    else:
        revision = record.get("resolved_commit")
    return {"source": record.get("source", "modelscope"), "revision": revision}


def source_record(
    request: ModelRequest, revision: Revision, hashes: dict[str, str], directory: Path
) -> dict:
    """What was asked for, what it resolved to, and a digest of the manifest."""
    manifest_digest = hashlib.sha256(format_manifest(sorted(hashes.items())).encode()).hexdigest()
    return {
        "model_id": request.model_id,
        "source": "modelscope",
        "endpoint": request.endpoint,
        "requested_revision": request.revision,
        "revision_kind": revision.kind,
        "pinned": revision.pinned,
        "resolved_commit": revision.commit,
        "downloaded_utc": utc_now(),
        "files": len(hashes),
        "total_bytes": sum((directory / rel).stat().st_size for rel in hashes),
        "manifest_sha256": manifest_digest,
    }


def ensure_model(
    request: ModelRequest,
    *,
    hub: HubClient | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Verify an existing download, or download at a pinned revision and write the manifest.

    With `request.repair`, files that fail the manifest are fetched again (ModelScope
    re-downloads whatever does not match the hub's hashes) and the new manifest must equal
    the old one: the same revision has to give the same bytes.
    """
    directory = model_dir(request.models_dir, request.model_id)
    before: dict[str, str] | None = None
    if (directory / MANIFEST_NAME).exists():
        held = (read_source(directory) or {}).get("requested_revision")
        if request.revision and held and held != request.revision:
            raise UsageError(
                f"{directory} holds revision {held!r}, not {request.revision!r}; "
                "choose another --models-dir or remove that directory"
            )
        try:
            hashes = verify_manifest(directory)
        except InputError as exc:
            if not request.repair:
                raise InputError(f"{exc}; `bench model --repair` fetches it again") from None
            log(f"repairing: {exc}")
            before = parse_manifest((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
            request = replace(request, revision=request.revision or held or "")
        else:
            log(f"verified {len(hashes)} files in {directory} against {MANIFEST_NAME}; "
                "nothing to download")  # fmt: skip
            return directory
    if not request.revision:
        raise UsageError(
            "no model revision given: pick a commit id or tag (`python -m bench model "
            "--list-revisions`) and pass --revision (make: MODEL_REVISION=...), "
            "or --allow-unpinned to take a branch head"
        )
    hub = hub or HubClient(request.endpoint)
    revision = classify_revision(request.revision, *hub.revisions(request.model_id))
    if not revision.pinned and not request.allow_unpinned:
        raise UsageError(
            f"revision {request.revision!r} is a branch and can move; pin a commit id or tag "
            "(`python -m bench model --list-revisions`), or pass --allow-unpinned"
        )
    log(f"downloading {request.model_id}@{request.revision} ({revision.kind}) into {directory}")
    hub.download(request.model_id, request.revision, directory)
    if revision.kind == "branch":
        after = classify_revision(request.revision, *hub.revisions(request.model_id))
        if revision.commit and after.commit != revision.commit:
            raise BenchError(
                f"branch {request.revision!r} moved during the download "
                f"({revision.commit} -> {after.commit}); re-run to fetch a consistent snapshot"
            )
    hashes = hash_files(directory)
    if before is not None and hashes != before:  # the earlier manifest stays as it was
        changed = sorted(set(hashes.items()) ^ set(before.items()))[0][0]
        raise BenchError(
            f"{directory / changed}: the hub's file for {request.revision!r} differs from "
            f"the earlier {MANIFEST_NAME}; the revision did not give the same bytes"
        )
    write_manifest(directory, hashes)
    record = source_record(request, revision, hashes, directory)
    write_json_atomic(directory / SOURCE_NAME, record, overwrite=True)
    # Written as computed: read it back rather than hash every file a second time.
    if parse_manifest((directory / MANIFEST_NAME).read_text(encoding="utf-8")) != hashes:
        raise BenchError(f"{directory / MANIFEST_NAME} does not read back as written")
    resolved = f", resolved to commit {revision.commit}" if revision.commit else ""
    log(
        f"wrote {directory / MANIFEST_NAME} ({len(hashes)} files, "
        f"{record['total_bytes'] / GIB:.2f} GiB){resolved}"
    )
    if not revision.pinned and not revision.commit:
        log(
            "warning: the hub did not say which commit the branch was at; the manifest digest "
            f"{record['manifest_sha256'][:16]} identifies the files instead"
        )
    return directory


class HubClient:
    """The only code here that talks to ModelScope (imported lazily: it is heavy)."""

    def __init__(self, endpoint: str | None = None):
        self.endpoint = endpoint

    def revisions(self, model_id: str) -> tuple[list[dict], list[dict]]:
        from modelscope.hub.api import HubApi

        try:
            return HubApi(endpoint=self.endpoint).get_model_branches_and_tags_details(model_id)
        except Exception as exc:  # the hub's errors vary by release; report them in one line
            raise BenchError(f"cannot list revisions of {model_id}: {_one_line(exc)}") from exc

    def download(self, model_id: str, revision: str, directory: Path) -> None:
        from modelscope import snapshot_download

        directory.mkdir(parents=True, exist_ok=True)
        try:
            snapshot_download(
                model_id, revision=revision, local_dir=str(directory), endpoint=self.endpoint
            )
        except Exception as exc:
            raise BenchError(
                f"download of {model_id}@{revision} stopped: {_one_line(exc)}; "
                "re-run the same command to resume (finished files are kept)"
            ) from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
