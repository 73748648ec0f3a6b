"""What the simulator really did: one JSON line per request, flushed as each one ends.

Fields: `id` (the response id in every chunk), `rid` (the client's `X-Request-Id`, or the
`rid` of a /generate body), `endpoint`, `arrival_ns`, `prompt_tokens`, `cached_tokens` (of
them, found in the prefix cache), `completion_tokens`,
`token_ns` (`time.perf_counter_ns()` when the chunk carrying each token was written),
`finish_reason`, `fault` (null or the injected faults' names joined by "+"), and, only for a
sanity question the simulator answered (`bench.sim.answers`), `answer`: the number it sent.
perf_counter_ns is CLOCK_MONOTONIC on Linux, shared by every process of the host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from bench.errors import BenchError


class GroundTruthWriter:
    def __init__(self, path: Path | None):
        self.path = path
        self._file: IO[str] | None = None
        if path is not None:
            try:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
            except OSError as exc:
                raise BenchError(f"cannot open ground-truth file {path}: {exc}") from None

    def write(self, record: dict) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
