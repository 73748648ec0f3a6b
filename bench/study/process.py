"""A server process of a study: started in its own process group with its output in a log
file, waited for (bounded), stopped (SIGTERM to the group, SIGKILL after a grace period),
and its port checked free afterwards (bounded). Every wait has a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.errors import BenchError

POLL_S = 0.2
HTTP_TIMEOUT_S = 5.0
LOG_TAIL_LINES = 20


class LaunchError(BenchError):
    """A server that did not start, or died: the message, and its log's last lines."""

    def __init__(self, message: str, log_tail: str = "", log: Path | None = None):
        super().__init__(message)
        self.log_tail = log_tail
        self.log = log


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log (empty when there is none)."""
    if path is None:
        return ""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """Something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def wait_port_free(host: str, port: int, timeout_s: float) -> bool:
    """Bounded: True once nothing accepts on host:port, False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while port_in_use(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def healthy(url: str) -> bool:
    """GET url answers 200 within the HTTP timeout."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(
    url: str, timeout_s: float, alive: Callable[[], bool], log: Path | None = None
) -> None:
    """Bounded: return once `url` answers 200; a LaunchError (with the log's tail) when the
    process dies first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if not alive():
            raise LaunchError("the server exited before it was healthy", log_tail(log), log)
        if time.monotonic() > deadline:
            raise LaunchError(f"not healthy within {timeout_s:g} s ({url})", log_tail(log), log)
        time.sleep(POLL_S)


class ServerProcess:
    """One child process in its own session (so its whole group can be signalled)."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.log = log
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=self.env,
                )
            except OSError as exc:
                raise LaunchError(f"cannot run {self.argv[0]}: {exc.strerror or exc}") from None
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def stop(self, grace_s: float) -> str:
        """SIGTERM to the process group, SIGKILL after `grace_s`; says what it took."""
        if self.proc is None:
            return "not started"
        if self.proc.poll() is not None:
            self._kill_group(signal.SIGKILL)  # children it left behind, if any
            return f"had exited ({self.proc.returncode})"
        self._kill_group(signal.SIGTERM)
        try:
            self.proc.wait(grace_s)
            how = f"stopped by SIGTERM ({self.proc.returncode})"
        except subprocess.TimeoutExpired:
            self._kill_group(signal.SIGKILL)
            self.proc.wait(30)
            how = f"killed (SIGKILL after {grace_s:g} s)"
        self._kill_group(signal.SIGKILL)
        return how

    def _kill_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def stop_left_behind(pid: int, argv: list[str], grace_s: float) -> str | None:
    """Stop a server an earlier session left running (it crashed, or was killed): only when
    `/proc` shows that pid running `argv` (its arguments exactly; its program by name, as a
    script's interpreter may come first), so a reused pid is never touched. A sentence
    saying what was done, or None when there was nothing to stop."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    running = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not argv or len(running) < len(argv) or running[len(running) - len(argv) + 1 :] != argv[1:]:
        return None
    program = Path(argv[0]).name
    if not any(Path(a).name == program for a in running[: len(running) - len(argv) + 1]):
        return None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(POLL_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return f"stopped the server an earlier session left running (pid {pid})"
