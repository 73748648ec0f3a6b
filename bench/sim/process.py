"""`bench sim` as a child process: started, waited for (its ready file), stopped.

For benchmarks, demos and tests that need the simulator in another process (its own CPU,
its own event loop): `with SimProcess(["--speed", "10"], workdir=tmp) as sim: sim.base_url`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.errors import BenchError


class SimProcess:
    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        workdir: Path,
        prefix: Sequence[str] = (),  # e.g. ["taskset", "-c", "0"]
        start_timeout_s: float = 60.0,
        python: str | None = None,  # the interpreter whose kit runs it (default: this one)
    ):
        self.ready_file = Path(workdir) / f"sim-ready-{time.monotonic_ns()}.json"
        self.stderr_file = self.ready_file.with_suffix(".stderr")
        self.cmd = [
            *prefix,
            python or sys.executable,
            "-m",
            "bench",
            "sim",
            "--port",
            "0",
            "--ready-file",
            str(self.ready_file),
            *args,
        ]
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.ready: dict = {}

    @property
    def base_url(self) -> str:
        return self.ready["base_url"]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stderr_text(self) -> str:
        try:
            return self.stderr_file.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> SimProcess:
        with open(self.stderr_file, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + self.start_timeout_s
        while not self.ready_file.exists():
            if self.proc.poll() is not None:
                tail = self.stderr_text().strip().splitlines()[-1:] or ["(no output)"]
                raise BenchError(f"bench sim exited with {self.proc.returncode}: {tail[0]}")
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise BenchError(f"bench sim did not start within {self.start_timeout_s} s")
            time.sleep(0.05)
        self.ready = json.loads(self.ready_file.read_text())
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Send `sig` (if still running) and wait; kill after `timeout_s`. The exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout_s)

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
