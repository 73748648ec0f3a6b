"""The server's self-report: one fetcher for `bench run`, `bench env` and `bench memory`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.client.api import get_server_info
from bench.errors import InputError
from bench.system import capture as envinfo


@contextmanager
def serving(routes: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 answering each path in `routes` with its body, 404 elsewhere;
    yields its base URL and the paths asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = routes.get(self.path)
            self.send_response(404 if body is None else 200)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_older_servers_answer_at_server_info():
    with serving({"/server_info": json.dumps({"version": "0.4.0"}).encode()}) as (url, asked):
        assert get_server_info(url, 5.0) == {"version": "0.4.0"}
    assert asked == ["/get_server_info", "/server_info"]


def test_no_self_report_is_one_error_naming_the_server():
    with serving({}) as (url, _asked), pytest.raises(InputError, match="no server info at"):
        get_server_info(url, 5.0)


def test_a_self_report_that_is_not_an_object_is_refused():
    with (
        serving({"/get_server_info": b"[1, 2]"}) as (url, _asked),
        pytest.raises(InputError, match="not a JSON object"),
    ):
        get_server_info(url, 5.0)


def test_bench_env_records_why_there_is_no_self_report():
    info, why = envinfo.server_self_report("http://127.0.0.1:9", timeout=2.0)
    assert info is None and why.startswith("cannot reach http://127.0.0.1:9/get_server_info")


def test_a_self_report_already_fetched_is_not_asked_for_again():
    with serving({"/get_server_info": b'{"version": "0.5.3"}'}) as (url, asked):
        report = envinfo.server_self_report(url)
        env = envinfo.capture_environment(url, self_report=report)
    assert asked == ["/get_server_info"]
    assert env["software"]["engine"] == {"name": "sglang", "version": "0.5.3"}
