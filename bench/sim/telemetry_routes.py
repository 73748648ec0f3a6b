"""The simulator's telemetry routes: `GET /metrics` (SGLang's Prometheus names, from
`bench.sim.metrics`) and `GET /_sim/npu` (the simulated NPU's state as JSON, from
`bench.sim.npu`, which the stand-in npu-smi of `bench sim --npu-smi-dir` prints)."""

from __future__ import annotations

import os

from aiohttp import web

from bench.sim.metrics import CONTENT_TYPE, SimMetrics
from bench.sim.npu import npu_state
from bench.sim.npu_smi import STATE_PATH


def add_telemetry_routes(app: web.Application, state) -> None:
    """Register both routes for a `bench.sim.routes.SimState`, and feed its metrics."""
    metrics = SimMetrics(state.profile.model.served_model_name)
    state.scheduler.observer = metrics

    async def prometheus(request: web.Request) -> web.Response:
        text = metrics.exposition(state.scheduler)
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def npu(request: web.Request) -> web.Response:
        reading = npu_state(state.profile, state.plan, state.scheduler).as_json()
        return web.json_response({**reading, "pid": os.getpid()})

    app.router.add_get("/metrics", prometheus)
    app.router.add_get(STATE_PATH, npu)
