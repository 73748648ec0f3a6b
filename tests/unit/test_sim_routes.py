"""The simulator's generation handler, case by case: what is decided at arrival, and how a
request that did not finish is settled. No network: a mocked aiohttp request."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bench.sim.api import GenSpec
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig
from bench.sim.routes import SimState
from bench.sim.scheduler import SimRequest

SPEC = GenSpec("chat", 12, 4, True, True, False, "m", None)


def _state(tmp_path, **faults) -> SimState:
    config = SimConfig(ground_truth=tmp_path / "truth.jsonl", faults=FaultConfig(**faults))
    return SimState(config)


def _request():
    return make_mocked_request("POST", "/v1/chat/completions", headers={"X-Request-Id": "r-1"})


def _truth(state: SimState, tmp_path) -> list[dict]:
    state.truth.close()
    return [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]


def test_a_request_without_faults_gets_a_seeded_id_and_an_open_truth_line(tmp_path):
    state = _state(tmp_path)
    faults, rid, truth = state.decide_faults(_request(), SPEC, 5, index=0)
    again = SimState(SimConfig()).decide_faults(_request(), SPEC, 5, index=0)[1]
    other = state.decide_faults(_request(), SPEC, 5, index=1)[1]
    assert faults.names == [] and rid == again != other and len(rid) == 32
    assert truth == {
        "id": rid, "rid": "r-1", "endpoint": "/v1/chat/completions", "arrival_ns": 5,
        "prompt_tokens": 12, "cached_tokens": 0, "completion_tokens": 0, "token_ns": [],
        "finish_reason": None, "fault": None,
    }  # fmt: skip
    assert _truth(state, tmp_path) == []  # written only when the request ends


def test_the_error_fault_ends_the_request_at_arrival_with_its_truth_written(tmp_path):
    state = _state(tmp_path, error_rate=1.0)
    response = state.decide_faults(_request(), SPEC, 5, index=0)
    assert isinstance(response, web.Response) and response.status == 500
    (truth,) = _truth(state, tmp_path)
    assert (truth["fault"], truth["finish_reason"], truth["token_ns"]) == ("error_500", "error", [])


def test_the_crash_fault_resets_the_connection_and_marks_the_request(tmp_path):
    state = _state(tmp_path, crash_after=2)
    assert not isinstance(state.decide_faults(_request(), SPEC, 5, index=1), web.Response)
    request = _request()
    response = state.decide_faults(request, SPEC, 5, index=2)
    assert response.status == 500 and state.crashed.is_set()
    request.transport.abort.assert_called_once()
    (truth,) = _truth(state, tmp_path)
    assert (truth["id"], truth["fault"], truth["finish_reason"]) == (None, "crash", "error")


def test_a_request_that_did_not_finish_is_settled_as_an_abort(tmp_path):
    state = _state(tmp_path, malformed_rate=1.0)
    faults, _rid, truth = state.decide_faults(_request(), SPEC, 5, index=0)
    req = SimRequest(12, 4, (1, 2, 3, 4))
    state.scheduler.submit(req)
    state.settle(req, faults, truth)
    assert req.finish_reason == "abort" and not state.scheduler.waiting  # its place is freed
    state.crashed.set()  # a request cut by the crash says so too
    state.settle(SimRequest(12, 4, (1, 2, 3, 4)), faults, {**truth, "finish_reason": None})
    first, second = _truth(state, tmp_path)
    assert (first["finish_reason"], first["fault"]) == ("abort", "malformed")
    assert (second["finish_reason"], second["fault"]) == ("abort", "malformed+crash")
