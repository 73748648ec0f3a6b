"""The measured window's edges, told to whoever watches the run (telemetry, studies).

The load generator and the latency probe call `window_started()` when warm-up is over, just
before the first measured request is sent, and `window_ended()` when the last measured
request has finished. Both are plain blocking calls: the load generator makes them from a
worker thread, so its event loop never waits on them, and at those two moments no measured
request is in flight. A hook must be quick and bounded (it runs between warm-up and the
measurement), and must not raise: what goes wrong in it is its own to record.
"""

from __future__ import annotations

from typing import Protocol


class WindowHooks(Protocol):
    def window_started(self) -> None: ...

    def window_ended(self) -> None: ...
