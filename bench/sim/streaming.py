"""One streamed reply: its chunks written as the engine produces its tokens, and what the
stream faults (drop, malformed, burst) do to them. The ground truth records each token when
the chunk carrying it is handed to the transport."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiohttp import web

from bench.sim import wire
from bench.sim.api import GenSpec
from bench.sim.faults import RequestFaults
from bench.sim.scheduler import SimRequest

if TYPE_CHECKING:
    from bench.sim.routes import SimState

MALFORMED_LINE = b'data: {"id": \n\n'


class ReplyWriter:
    """Writes a reply's chunks and stamps, just before each write, the tokens it carries
    in the ground truth (`token_ns`, `completion_tokens`). With `hold` (the burst fault) it
    keeps every chunk and writes them all in one piece, with the tail, at the end."""

    def __init__(self, resp: web.StreamResponse, truth: dict, *, hold: bool = False):
        self.resp = resp
        self.truth = truth
        self.hold = hold
        self._held: list[bytes] = []
        self._held_tokens = 0
        self._upto = 0

    async def chunk(self, data: bytes, tokens: int, upto: int) -> None:
        """`data` carries `tokens` more tokens, `upto` in all."""
        self._held.append(data)
        self._held_tokens += tokens
        self._upto = upto
        if not self.hold:
            await self.flush()

    async def flush(self, tail: bytes = b"") -> None:
        """Write what is held (and `tail`) in one piece."""
        data = b"".join(self._held) + tail
        if self._held_tokens:
            self.truth["token_ns"].extend([time.perf_counter_ns()] * self._held_tokens)
            self.truth["completion_tokens"] = self._upto
        self._held.clear()
        self._held_tokens = 0
        if data:
            await self.resp.write(data)

    async def end(self, tail: bytes) -> None:
        """The closing chunks (finish, usage, `[DONE]`) and the end of the body."""
        await self.flush(tail)
        await self.resp.write_eof()


def _chunk(
    encoder: wire.Encoder, req: SimRequest, upto: int, text: str, cumulative: str, malformed: bool
) -> bytes:
    """The bytes carrying tokens [req.sent, upto): a chat reply's role chunk first, the
    finish reason on a completions or generate reply's last chunk."""
    first = req.sent == 0
    finished = req.done and upto == req.generated
    out = encoder.role_chunk() if (first and encoder.endpoint == "chat") else b""
    out += encoder.content_chunk(
        text,
        cumulative if encoder.endpoint == "generate" else "",
        upto,
        req.finish_reason if finished else None,
        req.cached_tokens,
    )
    return out + (MALFORMED_LINE if first and malformed else b"")


def _tail(encoder: wire.Encoder, spec: GenSpec, req: SimRequest) -> bytes:
    tail = b""
    if encoder.endpoint == "chat":
        tail += encoder.finish_chunk(req.finish_reason)
    if spec.include_usage:
        tail += encoder.usage_chunk(req.generated, req.cached_tokens)
    return tail + wire.DONE


async def stream_reply(
    state: SimState,
    request: web.Request,
    resp: web.StreamResponse,
    spec: GenSpec,
    req: SimRequest,
    encoder: wire.Encoder,
    faults: RequestFaults,
    truth: dict,
) -> None:
    """Write `req`'s tokens as the scheduler produces them (one chunk per wake-up), then the
    tail; the drop fault cuts the connection after its K tokens instead, the burst fault
    holds every chunk until the end."""
    writer = ReplyWriter(resp, truth, hold=faults.burst)
    cumulative: list[str] = []
    drop_at = faults.drop_after
    while True:
        if drop_at is not None and req.sent >= drop_at:
            await writer.flush()
            truth["finish_reason"] = "abort"
            state.scheduler.abort(req)
            request.transport.abort()
            return
        if req.sent >= req.generated:
            if req.done:
                break
            await req.wakeup.wait()
            req.wakeup.clear()
            continue
        upto = req.generated if drop_at is None else min(req.generated, drop_at)
        text = state.tokens.text_of(list(req.token_ids[req.sent : upto]))
        cumulative.append(text)
        out = _chunk(encoder, req, upto, text, "".join(cumulative), faults.malformed)
        tokens = upto - req.sent
        req.sent = upto
        state.tokens_out += tokens
        await writer.chunk(out, tokens, upto)
    await writer.end(_tail(encoder, spec, req))
    truth["finish_reason"] = req.finish_reason
