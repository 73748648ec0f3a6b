"""`bench model` against a stand-in of ModelScope's file API on 127.0.0.1.

The stand-in serves the three endpoints `snapshot_download` calls (revisions, the file
list with sizes and SHA-256, and file bytes with HTTP ranges) for a tiny fake model, and
logs every request, so the tests can say what was fetched and what was not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bench import modelhub
from bench.errors import BenchError, InputError, UsageError

MODEL = "Qwen/Tiny-Instruct"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": b'{"model_type": "qwen2", "num_hidden_layers": 2}\n',
    "model.safetensors": bytes(range(256)) * 40,
    "tokenizer/tokenizer.json": b'{"version": "1.0"}\n',
}


@dataclass
class StandInHub:
    files: dict[str, bytes]
    branch_commit: str = "fedcba9876543210fedcba9876543210fedcba98"
    fail_once: set[str] = field(default_factory=set)  # paths answered 404 on their first GET
    log: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""

    def fetched(self) -> list[str]:
        return sorted(q for kind, q in self.log if kind == "file")

    def app(self) -> web.Application:
        prefix = f"/api/v1/models/{MODEL}"

        async def revisions(request: web.Request) -> web.Response:
            self.log.append(("revisions", ""))
            return web.json_response(
                {
                    "Code": 200,
                    "Data": {
                        "RevisionMap": {
                            "Branches": [{"Revision": "master", "CommitId": self.branch_commit}],
                            "Tags": [{"Revision": "v1.0.0", "CommitId": COMMIT}],
                        }
                    },
                }
            )

        async def listing(request: web.Request) -> web.Response:
            self.log.append(("list", request.query.get("Revision", "")))
            entries = [
                {
                    "Path": path,
                    "Name": path.rsplit("/", 1)[-1],
                    "Type": "blob",
                    "Size": len(body),
                    "Sha256": hashlib.sha256(body).hexdigest(),
                }
                for path, body in self.files.items()
            ]
            return web.json_response({"Code": 200, "Data": {"Files": entries}})

        async def file(request: web.Request) -> web.Response:
            path = request.query["FilePath"]
            self.log.append(("file", path))
            if path in self.fail_once:
                self.fail_once.discard(path)
                return web.json_response({"Code": 404, "Message": "gone for now"}, status=404)
            body = self.files[path]
            start = 0
            if rng := request.headers.get("Range"):
                start = int(rng.split("=")[1].split("-")[0])
                headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
                return web.Response(status=206, body=body[start:], headers=headers)
            return web.Response(body=body)

        async def other(request: web.Request) -> web.Response:
            self.log.append(("other", request.path))
            return web.json_response({"Code": 404, "Message": "not here"}, status=404)

        app = web.Application()
        app.router.add_get(f"{prefix}/revisions", revisions)
        app.router.add_get(f"{prefix}/repo/files", listing)
        app.router.add_get(f"{prefix}/repo", file)
        app.router.add_route("*", "/{tail:.*}", other)
        return app


@pytest.fixture
def hub() -> Iterator[StandInHub]:
    state = StandInHub(files=dict(FILES))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(state.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    state.base_url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def request(hub: StandInHub, tmp_path: Path, revision: str, **kw) -> modelhub.ModelRequest:
    return modelhub.ModelRequest(MODEL, revision, tmp_path / "models", endpoint=hub.base_url, **kw)


def test_downloads_a_tag_and_writes_a_manifest_sha256sum_can_check(hub, tmp_path):
    directory = modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)

    assert directory == tmp_path / "models" / "Qwen" / "Tiny-Instruct"
    for path, body in FILES.items():
        assert (directory / path).read_bytes() == body
    manifest = (directory / "MANIFEST.sha256").read_text()
    assert manifest.splitlines() == [
        f"{hashlib.sha256(FILES[p]).hexdigest()}  {p}" for p in sorted(FILES)
    ]
    check = subprocess.run(
        ["sha256sum", "--check", "--quiet", "MANIFEST.sha256"], cwd=directory, check=False
    )
    assert check.returncode == 0
    source = json.loads((directory / "MODEL_SOURCE.json").read_text())
    assert source["requested_revision"] == "v1.0.0"
    assert source["revision_kind"] == "tag" and source["pinned"] is True
    assert source["resolved_commit"] == COMMIT
    assert source["files"] == 3 and source["total_bytes"] == sum(map(len, FILES.values()))
    assert hub.fetched() == sorted(FILES)


def test_a_second_run_verifies_without_downloading(hub, tmp_path):
    modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    hub.log.clear()
    said: list[str] = []

    modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=said.append)

    assert hub.log == []
    assert said and said[0].startswith("verified 3 files")


def test_a_corrupted_file_is_refused_by_name(hub, tmp_path):
    directory = modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    weights = directory / "model.safetensors"
    weights.write_bytes(b"\x01" + weights.read_bytes()[1:])

    with pytest.raises(InputError, match=r"model\.safetensors: corrupted") as err:
        modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    assert "\n" not in str(err.value)


def test_a_branch_is_refused_unless_allowed_and_then_its_commit_is_recorded(hub, tmp_path):
    with pytest.raises(UsageError, match="'master' is a branch"):
        modelhub.ensure_model(request(hub, tmp_path, "master"), log=lambda _: None)
    assert hub.fetched() == []

    directory = modelhub.ensure_model(
        request(hub, tmp_path, "master", allow_unpinned=True), log=lambda _: None
    )
    source = json.loads((directory / "MODEL_SOURCE.json").read_text())
    assert source["pinned"] is False and source["revision_kind"] == "branch"
    assert source["resolved_commit"] == hub.branch_commit


def test_no_revision_and_unknown_revisions_say_how_to_pick_one(hub, tmp_path):
    with pytest.raises(UsageError, match="--list-revisions"):
        modelhub.ensure_model(request(hub, tmp_path, ""), log=lambda _: None)
    with pytest.raises(InputError, match=r"no revision 'v9'.*v1\.0\.0, master"):
        modelhub.ensure_model(request(hub, tmp_path, "v9"), log=lambda _: None)


def test_an_interrupted_download_resumes_and_fetches_only_what_is_missing(hub, tmp_path):
    hub.fail_once.add("model.safetensors")
    with pytest.raises(BenchError, match="re-run the same command to resume"):
        modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    directory = tmp_path / "models" / MODEL
    assert not (directory / "MANIFEST.sha256").exists()
    hub.log.clear()

    modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)

    assert hub.fetched() == ["model.safetensors"]
    assert (directory / "MANIFEST.sha256").exists()


def test_the_cli_prints_one_error_line_for_a_corrupted_file(hub, tmp_path):
    argv = [
        sys.executable,
        "-m",
        "bench",
        "model",
        "--model",
        MODEL,
        "--revision",
        "v1.0.0",
        "--models-dir",
        str(tmp_path / "models"),
        "--endpoint",
        hub.base_url,
    ]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "model ready:" in first.stdout
    config = tmp_path / "models" / MODEL / "config.json"
    config.write_text("{}")

    second = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    assert second.returncode == 1
    assert second.stderr.startswith("Error: ") and second.stderr.count("\n") == 1
    assert "config.json: corrupted" in second.stderr


def test_the_cli_lists_revisions_from_the_hub_named_by_modelscope_endpoint(hub):
    """The way compose passes the hub: the MODELSCOPE_ENDPOINT variable, no flag."""
    out = subprocess.run(
        [sys.executable, "-m", "bench", "model", "--model", MODEL, "--list-revisions"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=dict(os.environ, MODELSCOPE_ENDPOINT=hub.base_url),
    ).stdout
    assert out.splitlines() == [f"tag    v1.0.0\t{COMMIT}", f"branch master\t{hub.branch_commit}"]


def test_repair_fetches_only_the_corrupted_file_again(hub, tmp_path):
    directory = modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    (directory / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="--repair"):
        modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    hub.log.clear()

    modelhub.ensure_model(request(hub, tmp_path, "", repair=True), log=lambda _: None)

    assert hub.fetched() == ["model.safetensors"]
    assert (directory / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert modelhub.verify_manifest(directory)


def test_repair_refuses_a_revision_whose_bytes_changed_on_the_hub(hub, tmp_path):
    directory = modelhub.ensure_model(request(hub, tmp_path, "v1.0.0"), log=lambda _: None)
    manifest = (directory / "MANIFEST.sha256").read_text()
    (directory / "config.json").unlink()
    hub.files["config.json"] = b'{"model_type": "something else"}\n'

    with pytest.raises(BenchError, match=r"config\.json: the hub's file for 'v1\.0\.0' differs"):
        modelhub.ensure_model(request(hub, tmp_path, "v1.0.0", repair=True), log=lambda _: None)
    assert (directory / "MANIFEST.sha256").read_text() == manifest
    with pytest.raises(InputError, match=r"config\.json: corrupted"):
        modelhub.verify_manifest(directory)
