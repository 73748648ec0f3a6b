"""Running the simulator: in-process for tests (`SimServer`) or as `bench sim` (`serve`).

Both start the same aiohttp application (`bench.sim.routes`) and the scheduler loop on one
asyncio event loop, write SGLang's startup lines to the log file (and stderr for the CLI),
then the ready file once the port listens. Shutdown (context exit, SIGINT/SIGTERM, or the
crash fault) stops the scheduler, closes every connection and flushes the ground truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from aiohttp import web

from bench.errors import BenchError
from bench.sim import startup
from bench.sim.config import SimConfig
from bench.sim.routes import SimState

CRASH_EXIT_CODE = 3


class _Running:
    """The started pieces of one simulator on the current event loop."""

    def __init__(self, state: SimState, runner: web.AppRunner, site, task: asyncio.Task):
        self.state = state
        self.runner = runner
        self.site = site
        self.task = task
        state.on_crash = self.crash_now

    def crash_now(self) -> None:
        """The crash fault: stop listening and reset every connection, as a dying process does."""
        server = self.site._server  # the asyncio.Server: closing it stops accepting at once
        if server is not None:
            server.close()
        for handler in self.runner.server.connections if self.runner.server else []:
            if handler.transport is not None:
                handler.transport.abort()

    @classmethod
    async def start(cls, config: SimConfig, log_to_stderr: bool) -> _Running:
        state = SimState(config)
        try:
            if config.npu_smi_dir is not None:
                from bench.sim.npu_smi import prepare_directory

                prepare_directory(config.npu_smi_dir)
            sink = LogSink(config.log_file, log_to_stderr)
        except BenchError:
            state.truth.close()
            raise
        lines = startup.startup_log_lines(state.profile, state.plan)
        app = state.app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, backlog=2048, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            state.truth.close()
            sink.close()
            raise BenchError(f"cannot listen on {config.host}:{config.port}: {exc}") from None
        state.port = runner.addresses[0][1]
        args = startup.server_args(
            state.profile,
            host=config.host,
            port=state.port,
            seed=config.seed,
            tokenizer_path=str(state.tokens.path.parent),
            disable_radix_cache=config.disable_radix_cache,
        )
        lines.insert(1, startup.server_args_log_line(args))
        lines.append(startup.ready_log_line(config.host, state.port))
        sink.lines(lines)
        state.scheduler.log = sink.message
        state.log_sink = sink
        task = asyncio.get_running_loop().create_task(state.scheduler.run())
        if config.npu_smi_dir is not None:
            from bench.sim.npu_smi import write_executable

            write_executable(config.npu_smi_dir, f"http://{_url_host(config.host)}:{state.port}")
        if config.ready_file is not None:
            from bench.jsonio import write_json_atomic

            ready = {
                "base_url": f"http://{_url_host(config.host)}:{state.port}",
                "port": state.port,
                "pid": os.getpid(),
            }
            write_json_atomic(config.ready_file, ready, overwrite=True)
        return cls(state, runner, site, task)

    async def stop(self) -> None:
        """Stop listening, cut open streams, let every handler write its ground truth."""
        self.crash_now()
        self.state.scheduler.abort_all()  # wakes the handlers; each records an abort
        self.state.scheduler.stop()
        await asyncio.sleep(0)
        await self.runner.cleanup()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.state.truth.close()
        self.state.log_sink.close()


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "localhost") else host


class LogSink:
    """SGLang-format lines to the `--log-file` (appended, flushed per line) and to stderr."""

    def __init__(self, path: Path | None, to_stderr: bool):
        self.to_stderr = to_stderr
        self._file = None
        if path is not None:
            try:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
            except OSError as exc:
                raise BenchError(f"cannot write log file {path}: {exc}") from None

    def lines(self, lines: list[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        if self.to_stderr:
            sys.stderr.write(text)
            sys.stderr.flush()
        if self._file is not None:
            self._file.write(text)
            self._file.flush()

    def message(self, text: str, dp_rank: int | None = None) -> None:
        """A runtime line (the scheduler's `Prefill batch.` / `Decode batch.`), prefixed
        (with the data-parallel rank's `DPn` tag when there are several)."""
        self.lines([startup.log_prefix(dp_rank=dp_rank) + text])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SimServer:
    """The simulator in a background thread, for tests: `with SimServer(cfg) as sim: ...`."""

    def __init__(self, config: SimConfig | None = None, *, start_timeout_s: float = 30.0):
        self.config = config or SimConfig()
        self.start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._done: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.state: SimState | None = None

    @property
    def base_url(self) -> str:
        assert self.state is not None, "SimServer is not started"
        return f"http://{_url_host(self.config.host)}:{self.state.port}"

    @property
    def ground_truth(self) -> Path | None:
        return self.config.ground_truth

    def __enter__(self) -> SimServer:
        self._thread = threading.Thread(target=self._main, name="bench-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout_s):
            raise BenchError(f"the simulator did not start within {self.start_timeout_s} s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self, timeout_s: float = 30.0) -> None:
        if self._loop is not None and self._done is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                self._loop.call_soon_threadsafe(self._done.set)
            self._thread.join(timeout_s)

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._done = asyncio.Event()
        try:
            running = await _Running.start(self.config, log_to_stderr=False)
        except BaseException as exc:  # handed to the caller's thread in __enter__
            self._error = exc
            self._ready.set()
            return
        self.state = running.state
        self._ready.set()
        crashed = asyncio.ensure_future(running.state.crashed.wait())
        done = asyncio.ensure_future(self._done.wait())
        await asyncio.wait([crashed, done], return_when=asyncio.FIRST_COMPLETED)
        crashed.cancel()
        done.cancel()
        await running.stop()


def serve(config: SimConfig) -> int:
    """Run until SIGINT/SIGTERM (exit 0) or the crash fault (exit 3). For `bench sim`."""
    return asyncio.run(_serve_forever(config))


async def _serve_forever(config: SimConfig) -> int:
    running = await _Running.start(config, log_to_stderr=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    crashed = asyncio.ensure_future(running.state.crashed.wait())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([crashed, stopped], return_when=asyncio.FIRST_COMPLETED)
    crashed.cancel()
    stopped.cancel()
    await running.stop()
    where = f"; ground truth in {config.ground_truth}" if config.ground_truth else ""
    if running.state.crashed.is_set():
        sys.stderr.write(f"Simulated crash after {config.faults.crash_after} requests{where}\n")
        return CRASH_EXIT_CODE
    sys.stderr.write(f"Simulator stopped after {running.state.arrivals} requests{where}\n")
    return 0
