"""Property tests: hostile documents never crash the validator; JSON round-trips."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.jsonio import dumps, parse_document
from bench.validate import validate_document
from tests.conftest import FIXTURES

BASE = json.loads((FIXTURES / "results" / "simulated_valid.json").read_text(encoding="utf-8"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=4))
def test_any_value_anywhere_gives_findings_never_an_exception(replacements):
    doc = json.loads(json.dumps(BASE))
    for path, value in replacements:
        node = doc
        for part in path[:-1]:
            if not isinstance(node, dict | list):
                break
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            # an earlier replacement may have turned an object into a list, or back
            index_fits = isinstance(path[-1], int) and path[-1] < len(node)
            if isinstance(node, dict) or (isinstance(node, list) and index_fits):
                node[path[-1]] = value
    for finding in validate_document(doc, "fuzz.json"):
        assert finding.level in ("error", "warning")
        assert "\n" not in finding.message and finding.pointer.startswith(("/", ""))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_what_dumps_writes_parse_document_reads_back(obj):
    assert parse_document(dumps(obj).encode("utf-8")) == obj


def test_negative_counts_and_huge_numbers_are_findings_not_exceptions():
    doc = json.loads(json.dumps(BASE))
    metrics = doc["measurements"]["throughput"][0]["metrics"]
    metrics.update(requests_sent=-5, requested_rate_rps=4.0, achieved_rate_rps=1e308)
    metrics["tpot_ms"]["median"] = 1e-320
    findings = validate_document(doc)
    assert any(f.pointer.endswith("/requests_sent") for f in findings)
