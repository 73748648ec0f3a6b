"""Property tests: hostile documents never crash the validator; JSON round-trips."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
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


def _fits(node, key) -> bool:
    """Whether `node[key] = value` keeps the document JSON: a string key of an object, or an
    index within an array. An earlier replacement may have changed what `node` is."""
    if isinstance(node, dict):
        return isinstance(key, str)
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)


def _replace(doc, path, value) -> None:
    """Put `value` at `path` if that place still exists; else leave `doc` as it is."""
    node = doc
    for key in path[:-1]:
        if not _fits(node, key) or (isinstance(node, dict) and key not in node):
            return
        node = node[key]
    if _fits(node, path[-1]):
        node[path[-1]] = value


def test_the_walker_skips_paths_an_earlier_replacement_removed():
    doc = {"a": [{"b": 1}], "c": {"d": 2}}
    _replace(doc, ("a",), [])
    _replace(doc, ("a", 0, "b"), 9)  # the list is empty now
    _replace(doc, ("c",), [5])
    _replace(doc, ("c", "d"), 9)  # a string key on what is now a list
    _replace(doc, ("c", 0), 6)
    _replace(doc, ("e", "f"), 9)  # never there
    assert doc == {"a": [], "c": [6]}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=4))
# A draw that once crashed the walker (a string key compared with the length of a list):
@example([(("measurements", "latency", 0, "records"), []),
          (("measurements", "latency", 0, "records", "path"), None)])  # fmt: skip
def test_any_value_anywhere_gives_findings_never_an_exception(replacements):
    doc = json.loads(json.dumps(BASE))
    for path, value in replacements:
        _replace(doc, path, value)
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
