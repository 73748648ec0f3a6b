"""Launchers: start one configuration's server, wait for its health (bounded), and stop it.

- `command`: the study's command template as a child process in its own process group,
  its output in `servers/<configuration>.log`; stopped by SIGTERM to the group, SIGKILL
  after `[server] stop_timeout_s`.
- `compose`: the kit's compose `server` service (`docker compose up --detach --no-deps
  server`), its log in `servers/<configuration>/server.log` (compose.yaml tees SGLang's
  output to LOG_DIR/server.log); stopped by `compose stop` then `compose rm`.
- `external`: a server already running; only its health is checked.

After a stop the port must be free again (bounded by `[server] port_free_timeout_s`);
before a start on a fixed port, it must be free too, so a health check never reaches some
other server. A start that fails raises `LaunchError` with the log's last lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bench.study import commands
from bench.study.plan import Configuration
from bench.study.process import (
    LaunchError,
    ServerProcess,
    free_port,
    healthy,
    log_tail,
    port_in_use,
    wait_healthy,
    wait_port_free,
)
from bench.study.spec import ServerSection

LOCALHOST = "127.0.0.1"


@dataclass
class RunningServer:
    """One started configuration, as a cell runner sees it."""

    base_url: str
    launch_command: list[str] | None
    log: Path | None
    alive: Callable[[], bool]
    stop: Callable[[], str]  # stops it; says how
    start_s: float = 0.0  # seconds from launch to healthy
    notes: list[str] = field(default_factory=list)
    pid: int | None = None  # the command launcher's process (group leader), for a resume


class Launcher:
    """The interface: `start(configuration) -> RunningServer` (or LaunchError)."""

    def start(self, configuration: Configuration) -> RunningServer:  # pragma: no cover
        raise NotImplementedError


def kit_path_env() -> dict[str, str]:
    """The environment with this Python's bin directory first on PATH, so `python` (and
    `bench`) in a command template is the kit's own interpreter, as in an activated venv."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def fresh_log(path: Path) -> Path:
    """`path`, after moving a log an earlier session left there to `NAME.STAMP` (memory is
    read from the log, and two starts in one log would read as two ranks)."""
    if path.exists():
        from bench.utc import utc_stamp

        path.rename(path.with_name(f"{path.name}.{utc_stamp()}"))
    return path


def _free_before_start(host: str, port: int, timeout_s: float) -> None:
    if port_in_use(host, port) and not wait_port_free(host, port, timeout_s):
        raise LaunchError(f"port {port} is in use by another process; not starting on it")


class CommandLauncher(Launcher):
    def __init__(self, server: ServerSection, servers_dir: Path):
        self.server = server
        self.servers_dir = servers_dir

    def start(self, configuration: Configuration) -> RunningServer:
        server = self.server
        port = server.port or free_port()
        if server.port:
            _free_before_start(LOCALHOST, port, server.port_free_timeout_s)
        argv = commands.command_argv(server, configuration.as_dict, port)
        base_url = (server.base_url or f"http://{LOCALHOST}:{{port}}").format(port=port)
        log = fresh_log(self.servers_dir / f"{configuration.key}.log")
        proc = ServerProcess(argv, log, kit_path_env()).start()
        began = time.monotonic()
        try:
            wait_healthy(base_url + server.health_path, server.start_timeout_s, proc.alive, log)
        except BaseException:
            proc.stop(server.stop_timeout_s)
            raise

        def stop() -> str:
            how = proc.stop(server.stop_timeout_s)
            host = urlparse(base_url).hostname or LOCALHOST
            if not wait_port_free(host, port, server.port_free_timeout_s):
                how += f"; port {port} still in use after {server.port_free_timeout_s:g} s"
            return how

        began_s = time.monotonic() - began
        return RunningServer(base_url, argv, log, proc.alive, stop, began_s, [], proc.pid)


class ComposeLauncher(Launcher):
    def __init__(self, server: ServerSection, servers_dir: Path, docker: str = "docker"):
        self.server = server
        self.servers_dir = servers_dir
        self.docker = docker

    def _run(self, argv: list[str], env: dict[str, str], timeout_s: float):
        try:
            return subprocess.run(
                argv,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout_s:g} s")
        except OSError as exc:
            raise LaunchError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None

    def start(self, configuration: Configuration) -> RunningServer:
        server = self.server
        workdir = self.servers_dir / configuration.key
        workdir.mkdir(parents=True, exist_ok=True)
        plan = commands.compose_plan(server, configuration.as_dict, workdir, self.docker)
        plan.devices_file.write_text(plan.devices_yaml, encoding="utf-8")
        _free_before_start(LOCALHOST, server.port, server.port_free_timeout_s)
        log = fresh_log(workdir / "server.log")
        base_url = f"http://{LOCALHOST}:{server.port}"
        health = base_url + server.health_path

        def logs_tail() -> str:
            tail = log_tail(log)
            if tail:
                return tail
            out = self._run(plan.logs, plan.env, 60)
            return "\n".join((out.stdout + out.stderr).splitlines()[-20:])

        def stop() -> str:
            done = self._run(plan.stop, plan.env, server.stop_timeout_s + 60)
            self._run(plan.rm, plan.env, 120)
            how = "compose stop" + ("" if done.returncode == 0 else f" failed ({done.returncode})")
            if not wait_port_free(LOCALHOST, server.port, server.port_free_timeout_s):
                how += f"; port {server.port} still in use"
            return how

        self._run(plan.rm, plan.env, 120)  # a container a crashed session left behind
        began = time.monotonic()
        up = self._run(plan.up, plan.env, server.start_timeout_s)
        if up.returncode != 0:
            stop()
            detail = (up.stderr or up.stdout).strip().splitlines()[-1:] or ["no output"]
            raise LaunchError(
                f"docker compose up failed ({up.returncode}): {detail[0]}", logs_tail()
            )
        try:
            wait_healthy(health, server.start_timeout_s, lambda: True, log)
        except LaunchError as exc:
            stop()
            raise LaunchError(str(exc), logs_tail(), log) from None
        except BaseException:
            stop()
            raise
        return RunningServer(
            base_url,
            plan.up,
            log,
            lambda: healthy(health),
            stop,
            time.monotonic() - began,
            [f"compose environment: {_shown_env(plan.env)}"],
        )


class ExternalLauncher(Launcher):
    def __init__(self, server: ServerSection):
        self.server = server

    def start(self, configuration: Configuration) -> RunningServer:
        server = self.server
        assert server.base_url is not None
        base_url = server.base_url.rstrip("/")
        health = base_url + server.health_path
        began = time.monotonic()
        wait_healthy(health, server.start_timeout_s, lambda: True)
        log = Path(server.server_log) if server.server_log else None
        return RunningServer(
            base_url,
            None,
            log,
            lambda: healthy(health),
            lambda: "external: left running",
            time.monotonic() - began,
        )


def launcher_for(server: ServerSection, servers_dir: Path) -> Launcher:
    if server.launcher == "command":
        return CommandLauncher(server, servers_dir)
    if server.launcher == "compose":
        return ComposeLauncher(server, servers_dir, os.environ.get("DOCKER", "docker"))
    return ExternalLauncher(server)


def _shown_env(env: dict[str, str]) -> str:
    keys = ("TP", "NPUS", "MEM_FRACTION", "PORT", "SGLANG_FLAGS")
    return ", ".join(f"{k}={env[k]!r}" for k in keys if k in env)
