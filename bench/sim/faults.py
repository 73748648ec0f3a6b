"""Fault injection: a fixed table of faults, each validated, seeded and marked when injected.

- error_500 (`--fault-error-rate P`): the request is answered 500 with OpenAI-style JSON.
- drop (`--fault-drop-after K`, `--fault-drop-rate P`): the stream is cut after K tokens,
  with no finish chunk and no `[DONE]`.
- stall (`--fault-stall S`, `--fault-stall-rate P`): S simulated seconds (divided by
  `--speed`) of silence before the request enters the engine, so before its first token.
- malformed (`--fault-malformed-rate P`): one broken SSE line (`data: {"id": ` cut short)
  after the first content chunk; the stream then continues normally.
- burst (`--fault-burst-rate P`): the stream's chunks are held and written in one piece
  once the reply is complete (after its K tokens with the drop fault), as a server that
  buffers its replies, or a gateway or proxy in front of it, does; the client reads the
  whole reply at once. Streams only: a reply sent whole is whole anyway.
- garbage (`--fault-garbage-rate P`): the answer to a sanity question (see `answers`) is
  wrong, the right number plus a seeded offset in 1..99. Only requests the simulator answers
  as sanity questions carry it; its filler text is no answer to get wrong.
- health (`--fault-health-delay S`, `--fault-health-fail`): `/health` and `/health_generate`
  answer after S real seconds, or always 503.
- crash (`--fault-crash-after N`): request N+1 and every open stream get their connection
  reset and the server stops listening (the `bench sim` process exits with status 3).

Per-request faults are drawn from `random.Random(f"{seed}/{fault}/{index}")`, where
`index` is the request's arrival number (0, 1, ...): the same seed and arrival order give
the same faults, and one fault's rate does not shift another's draws.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.errors import UsageError


@dataclass(frozen=True)
class FaultConfig:
    error_rate: float = 0.0
    drop_after: int | None = None
    drop_rate: float = 1.0
    stall_s: float = 0.0
    stall_rate: float = 1.0
    malformed_rate: float = 0.0
    burst_rate: float = 0.0
    garbage_rate: float = 0.0
    health_delay_s: float = 0.0
    health_fail: bool = False
    crash_after: int | None = None

    def __post_init__(self) -> None:
        rates = ("error_rate", "drop_rate", "stall_rate", "malformed_rate", "burst_rate")
        for name in (*rates, "garbage_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                flag = "--fault-" + name.replace("_", "-")
                raise UsageError(f"{flag} must be in [0, 1], got {value}")
        for name in ("stall_s", "health_delay_s"):
            if getattr(self, name) < 0:
                raise UsageError(f"--fault-{name[:-2].replace('_', '-')} must be >= 0")
        if self.drop_after is not None and self.drop_after < 0:
            raise UsageError(f"--fault-drop-after must be >= 0, got {self.drop_after}")
        if self.crash_after is not None and self.crash_after < 0:
            raise UsageError(f"--fault-crash-after must be >= 0, got {self.crash_after}")


@dataclass(frozen=True)
class RequestFaults:
    """The faults one request will suffer (decided at arrival)."""

    error_500: bool = False
    drop_after: int | None = None
    stall_s: float = 0.0
    malformed: bool = False
    burst: bool = False
    garbage: bool = False

    @property
    def names(self) -> list[str]:
        out = []
        if self.error_500:
            out.append("error_500")
        if self.stall_s > 0:
            out.append("stall")
        if self.malformed:
            out.append("malformed")
        if self.drop_after is not None:
            out.append("drop")
        if self.burst:
            out.append("burst")
        if self.garbage:
            out.append("garbage")
        return out


def _draw(seed: int, fault: str, index: int) -> float:
    return random.Random(f"{seed}/{fault}/{index}").random()


def decide(config: FaultConfig, seed: int, index: int) -> RequestFaults:
    """The faults of request number `index`: a draw below the rate injects the fault."""
    if config.error_rate and _draw(seed, "error_500", index) < config.error_rate:
        return RequestFaults(error_500=True)
    drop = None
    if config.drop_after is not None and _draw(seed, "drop", index) < config.drop_rate:
        drop = config.drop_after
    stall = 0.0
    if config.stall_s > 0 and _draw(seed, "stall", index) < config.stall_rate:
        stall = config.stall_s
    malformed = bool(config.malformed_rate) and (
        _draw(seed, "malformed", index) < config.malformed_rate
    )
    burst = bool(config.burst_rate) and _draw(seed, "burst", index) < config.burst_rate
    garbage = bool(config.garbage_rate) and _draw(seed, "garbage", index) < config.garbage_rate
    return RequestFaults(
        drop_after=drop, stall_s=stall, malformed=malformed, burst=burst, garbage=garbage
    )
