"""Schema validation: the document against schema/result.schema.json (draft 2020-12)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from bench.validate.findings import Issue, pointer

# The package's copy of schema/result.schema.json (tools/build_schema.py writes both), so an
# installed kit carries the schema.
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")
MAX_MESSAGE = 160


def _is_rfc3339_datetime(value: object) -> bool:
    """RFC 3339 date-time: a date, `T`, a time and a UTC offset (jsonschema alone does not
    check `format: date-time` without an extra package)."""
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


@cache
def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_is_rfc3339_datetime)
    return jsonschema.Draft202012Validator(load_schema(), format_checker=checker)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "number")


def _message(error: Any) -> str:
    """jsonschema's message, without the offending value's full repr where that is long."""
    if error.validator == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(expected)}, got {_json_type(error.instance)}"
    return _one_line(error.message)


def _most_specific(error: Any) -> Any:
    """For anyOf/oneOf (e.g. `stats` or null): the deepest sub-error, not a type mismatch."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        return min(error.context, key=lambda e: (-len(e.absolute_path), e.validator == "type"))
    return error


def schema_issues(doc: Any) -> list[Issue]:
    """One Issue per schema violation, most specific cause first, sorted by pointer."""
    out = []
    for error in _validator().iter_errors(doc):
        error = _most_specific(error)
        out.append(Issue(pointer(*error.absolute_path), _message(error)))
    return sorted(set(out), key=lambda i: (i.pointer, i.message))


def issues_against(schema: dict[str, Any], doc: Any) -> list[Issue]:
    """Schema issues of `doc` against another schema of the kit (the study document's),
    reported as `schema_issues` reports them."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_is_rfc3339_datetime)
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    out = []
    for error in validator.iter_errors(doc):
        error = _most_specific(error)
        out.append(Issue(pointer(*error.absolute_path), _message(error)))
    return sorted(set(out), key=lambda i: (i.pointer, i.message))
