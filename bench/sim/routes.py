"""The simulator's HTTP routes (aiohttp): SGLang's API over the scheduler.

Routes: POST /v1/chat/completions, /v1/completions, /generate (streaming and not);
GET /v1/models, /health, /health_generate, /get_server_info, /server_info,
/get_model_info; POST /flush_cache. Everything that decides timing lives in
`scheduler`/`model`; everything about faults in `faults`; a streamed reply is written by
`streaming`. This module only moves bytes and records what it wrote, and when, in the
ground truth.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
import uuid

from aiohttp import web

from bench.sim import answers, model, startup, wire
from bench.sim.api import ApiError, GenSpec, parse
from bench.sim.config import SimConfig
from bench.sim.dp import make_scheduler
from bench.sim.faults import RequestFaults, decide
from bench.sim.groundtruth import GroundTruthWriter
from bench.sim.scheduler import SimRequest
from bench.sim.streaming import stream_reply
from bench.sim.telemetry_routes import add_telemetry_routes
from bench.sim.tokens import load_token_source

_POOL_SIZE = 1 << 16
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def _truth_entry(
    request: web.Request,
    spec: GenSpec,
    arrival_ns: int,
    rid: str | None,
    finish_reason: str | None,
    fault: str | None,
) -> dict:
    """A request's ground-truth line before any token is written (the handler fills in
    `token_ns`, `completion_tokens` and the finish as the response goes out)."""
    return {
        "id": rid,
        "rid": request.headers.get("X-Request-Id") or spec.body_rid,
        "endpoint": request.path,
        "arrival_ns": arrival_ns,
        "prompt_tokens": spec.prompt_tokens,
        "cached_tokens": 0,
        "completion_tokens": 0,
        "token_ns": [],
        "finish_reason": finish_reason,
        "fault": fault,
    }


class SimState:
    """Everything one running simulator holds; the handlers are its methods."""

    def __init__(self, config: SimConfig):
        from bench.sim import tokenizer_dir

        self.config = config
        self.profile = config.sim_profile()
        self.plan = model.memory_plan(self.profile)
        self.tokens = load_token_source(config.tokenizer or tokenizer_dir())
        rng = random.Random(config.seed)
        self.pool_size = max(_POOL_SIZE, self.profile.model.context_length)
        pool = tuple(rng.choice(self.tokens.gen_ids) for _ in range(self.pool_size))
        self.token_pool = pool + pool  # a request's ids are a slice, wrapping around
        self.scheduler = make_scheduler(
            self.profile,
            speed=config.speed,
            tokens_per_chunk=config.tokens_per_chunk,
            radix_cache=not config.disable_radix_cache,
        )
        self.truth = GroundTruthWriter(config.ground_truth)
        self.log_sink = None  # set by the runner (bench.sim.server.LogSink)
        self.port = config.port
        self.arrivals = 0
        self.crashed = asyncio.Event()
        self.on_crash = None  # set by the runner: close the listener, reset every connection
        self._gen_sample = (time.perf_counter_ns(), 0)
        self.tokens_out = 0

    # -- wiring ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._endpoint("chat"))
        app.router.add_post("/v1/completions", self._endpoint("completions"))
        app.router.add_post("/generate", self._endpoint("generate"))
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/health_generate", self.health)
        app.router.add_get("/get_server_info", self.server_info)
        app.router.add_get("/server_info", self.server_info)
        app.router.add_get("/get_model_info", self.model_info)
        app.router.add_route("*", "/flush_cache", self.flush_cache)
        add_telemetry_routes(app, self)  # GET /metrics and /_sim/npu
        return app

    def _endpoint(self, endpoint: str):
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.generate(request, endpoint)

        return handler

    # -- small routes ---------------------------------------------------------------------
    async def models(self, request: web.Request) -> web.Response:
        name = self.profile.model.served_model_name
        card = {
            "id": name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "sglang",
            "root": name,
            "parent": None,
            "max_model_len": self.profile.model.context_length,
        }
        return web.json_response({"object": "list", "data": [card]})

    async def health(self, request: web.Request) -> web.Response:
        faults = self.config.faults
        if faults.health_delay_s:
            await asyncio.sleep(faults.health_delay_s)
        if faults.health_fail:
            return web.Response(status=503)
        return web.Response(status=200)

    async def server_info(self, request: web.Request) -> web.Response:
        now = time.perf_counter_ns()
        then, tokens_then = self._gen_sample
        rate = (self.tokens_out - tokens_then) / ((now - then) / 1e9) if now > then else 0.0
        self._gen_sample = (now, self.tokens_out)
        info = startup.server_info(
            self.profile,
            self.plan,
            host=self.config.host,
            port=self.port,
            seed=self.config.seed,
            speed=self.config.speed,
            tokenizer_path=str(self.tokens.path.parent),
            last_gen_throughput=round(rate, 2),
            disable_radix_cache=self.config.disable_radix_cache,
        )
        return web.json_response(info)

    async def model_info(self, request: web.Request) -> web.Response:
        name = self.profile.model.served_model_name
        return web.json_response(
            {
                "model_path": name,
                "tokenizer_path": name,
                "is_generation": True,
                "weight_version": "default",
            }
        )

    async def flush_cache(self, request: web.Request) -> web.Response:
        """SGLang's answer (http_server.py): the same text, 400 when requests were running
        or waiting and nothing was flushed; the outcome goes to the log."""
        flushed = self.scheduler.flush_cache()
        if self.log_sink is not None:
            s = self.scheduler
            self.log_sink.message(
                "Cache flushed successfully!"
                if flushed
                else "Cache not flushed because there are pending requests. "
                f"#queue-req: {len(s.waiting)}, #running-req: {len(s.running)}"
            )
        return web.Response(
            text="Cache flushed.\nPlease check backend logs for more details. (When there "
            "are running or waiting requests, the operation will not be performed.)\n",
            status=200 if flushed else 400,
        )

    # -- generation -----------------------------------------------------------------------
    async def generate(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        """One generation request: admit it, decide its faults, then answer it streamed or
        whole; its ground truth is written however it ends."""
        arrival_ns = time.perf_counter_ns()
        spec = await self.admit(request, endpoint)
        if isinstance(spec, web.Response):
            return spec
        index = self.arrivals
        self.arrivals += 1
        decided = self.decide_faults(request, spec, arrival_ns, index)
        if isinstance(decided, web.Response):
            return decided
        faults, rid, truth = decided
        req = self._engine_request(spec, index)
        if spec.sanity_answer is not None:  # the one special case: see bench.sim.answers
            text = answers.answer_text(
                spec.sanity_answer, garbage=faults.garbage, seed=self.config.seed, index=index
            )
            req = answers.answering(req, text, self.tokens, ignore_eos=spec.ignore_eos)
            truth["answer"] = text
        encoder = wire.Encoder.for_request(endpoint, rid, spec.model, spec.prompt_tokens)
        try:
            if faults.stall_s:
                await asyncio.sleep(faults.stall_s / self.config.speed)
            req.ready_ns = time.perf_counter_ns() if faults.stall_s else arrival_ns
            self.scheduler.submit(req)
            if spec.stream:
                return await self.respond_streamed(request, spec, req, encoder, faults, truth)
            return await self.respond_whole(request, req, encoder, truth)
        finally:
            self.settle(req, faults, truth)

    async def admit(self, request: web.Request, endpoint: str) -> GenSpec | web.Response:
        """The request's GenSpec, or the 400 that refuses it (bad JSON, a bad field, more KV
        than the whole pool)."""
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "the request body is not valid JSON")
        try:
            # Tokenizing a long prompt takes milliseconds; in a worker thread (the tokenizer
            # releases the GIL) it does not delay the other streams' tokens.
            spec = await asyncio.get_running_loop().run_in_executor(
                None,
                parse,
                endpoint,
                body,
                self.tokens,
                self.profile.model.served_model_name,
                self.plan.max_req_input_len,
                self.profile.model.context_length,
            )
        except ApiError as exc:
            return _error(exc.status, str(exc), exc.err_type)
        answer = answers.sanity_answer(endpoint, body, spec.temperature)
        spec = dataclasses.replace(spec, sanity_answer=answer)
        if spec.prompt_tokens + spec.max_new_tokens > self.scheduler.pool_tokens:
            return _error(
                400,
                f"The request needs {spec.prompt_tokens + spec.max_new_tokens} "
                f"tokens of KV cache, more than the pool's "
                f"{self.scheduler.pool_tokens} (max_total_num_tokens).",
            )
        return spec

    def decide_faults(
        self, request: web.Request, spec: GenSpec, arrival_ns: int, index: int
    ) -> tuple[RequestFaults, str, dict] | web.Response:
        """Request `index`'s faults, response id and ground-truth entry; the crash and the
        error-500 faults end the request here (their ground truth written)."""
        crash_after = self.config.faults.crash_after
        if crash_after is not None and index >= crash_after:
            self.truth.write(_truth_entry(request, spec, arrival_ns, None, "error", "crash"))
            self.crash(request)
            return web.Response(status=500)  # never sent: the connection is already reset
        faults = decide(self.config.faults, self.config.seed, index)
        if faults.burst and not spec.stream:  # a reply sent whole is whole anyway
            faults = dataclasses.replace(faults, burst=False)
        if faults.garbage and spec.sanity_answer is None:  # filler is no answer to get wrong
            faults = dataclasses.replace(faults, garbage=False)
        rid = uuid.UUID(
            int=random.Random(f"{self.config.seed}/id/{index}").getrandbits(128), version=4
        ).hex
        truth = _truth_entry(request, spec, arrival_ns, rid, None, "+".join(faults.names) or None)
        if faults.error_500:
            truth["finish_reason"] = "error"
            self.truth.write(truth)
            return _error(500, "Internal server error (simulated fault)", "InternalServerError")
        return faults, rid, truth

    async def respond_streamed(self, request, spec, req, encoder, faults, truth):
        resp = web.StreamResponse(status=200, headers=_SSE_HEADERS)
        try:
            await resp.prepare(request)
            await stream_reply(self, request, resp, spec, req, encoder, faults, truth)
        except ConnectionError:  # the client went away: recorded as an abort
            pass
        return resp

    async def respond_whole(self, request, req, encoder, truth) -> web.StreamResponse:
        while not req.done:
            await req.wakeup.wait()
            req.wakeup.clear()
        text = self.tokens.text_of(list(req.token_ids[: req.generated]))
        body = encoder.full_response(text, req.generated, req.finish_reason, req.cached_tokens)
        resp = web.json_response(body)
        truth["token_ns"] = [time.perf_counter_ns()] * req.generated
        await resp.prepare(request)
        await resp.write_eof()
        truth["completion_tokens"] = req.generated
        truth["finish_reason"] = req.finish_reason
        self.tokens_out += req.generated
        return resp

    def settle(self, req: SimRequest, faults: RequestFaults, truth: dict) -> None:
        """However the request ended: free its place in the engine and write its truth."""
        if not req.done:
            self.scheduler.abort(req)
        truth["cached_tokens"] = req.cached_tokens
        if truth["finish_reason"] is None:  # the response did not complete
            truth["finish_reason"] = "abort"
            if self.crashed.is_set():
                truth["fault"] = "+".join([*faults.names, "crash"])
        self.truth.write(truth)

    def _engine_request(self, spec: GenSpec, index: int) -> SimRequest:
        # greedy: the prompt decides the text; sampled: the arrival number does
        key = spec.prompt_key if spec.temperature == 0 else index * 7919
        start = key % self.pool_size  # max_new_tokens <= context <= pool_size
        ids = self.token_pool[start : start + spec.max_new_tokens]
        eos_at = None
        if not spec.ignore_eos and self.config.eos_rate > 0:
            rng = random.Random(f"{self.config.seed}/eos/{key}")
            n = 1
            while n < spec.max_new_tokens and rng.random() >= self.config.eos_rate:
                n += 1
            eos_at = n
        return SimRequest(
            spec.prompt_tokens, spec.max_new_tokens, ids, eos_at=eos_at, prompt_ids=spec.prompt_ids
        )

    # -- the crash fault ------------------------------------------------------------------
    def crash(self, request: web.Request | None = None) -> None:
        """Reset this connection and every other one, stop listening, signal the runner."""
        if request is not None and request.transport is not None:
            request.transport.abort()
        if self.on_crash is not None:
            self.on_crash()
        self.crashed.set()


def _error(status: int, message: str, err_type: str = "BadRequestError") -> web.Response:
    return web.json_response(wire.error_body(message, status, err_type), status=status)
